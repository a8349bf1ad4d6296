// Agent: wires the engine, batcher, metrics, HTTP listener and inputs of one
// flowdb-agent process, and applies SIGHUP reloads.
//
// Start order: engine, batcher, exports, HTTP, inputs. Stop order: inputs
// (no new points), batcher (drains every queued point into the WAL),
// exports (what they have not sent stays in the WAL for the next run), HTTP,
// engine (flush + close). A reload swaps the inputs, the exports and the TTL
// rules; the batcher keeps running, so buffered points are never lost.
//
// Thread-safety: start/stop/reload/log_status from the controlling thread;
// ready() from any thread.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "agent/agent_config.h"
#include "agent/batcher.h"
#include "agent/core/ingest_context.h"
#include "agent/core/input.h"
#include "agent/core/metrics.h"
#include "agent/http_server.h"
#include "agent/prom_api.h"
#include "export/core/export_metrics.h"
#include "export/core/exporter.h"
#include "flowdb/engine.h"

namespace flowdb::agent {

// Retention's log events through the agent's logger, severity kept.
retention::LogFn retention_log();

class Agent {
 public:
  explicit Agent(AgentConfig config);
  ~Agent();  // stop()s

  // Throws flowdb::Error (engine) or std::runtime_error (listeners).
  void start();
  void stop();
  // Applies `next` (already parsed): inputs, TTL rules, log level. If a new
  // input cannot start, the previous inputs are restored and false returned.
  bool reload(const AgentConfig& next);
  bool ready(std::string* why) const;
  void log_status();

  int http_port() const { return http_ ? http_->port() : 0; }
  Engine* engine() { return engine_.get(); }
  Metrics& metrics() { return metrics_; }

 private:
  // A running input and the type that built it.
  struct Running {
    const InputType* type;
    std::shared_ptr<const InputSettings> settings;
    std::unique_ptr<Input> input;
  };
  IngestContext ingest_context();
  void start_inputs(const AgentConfig& c);  // throws; leaves nothing running on failure
  void stop_inputs();
  // Reload: inputs whose settings (fingerprint) are unchanged keep running,
  // with no reconnect or rebind; the others stop, then the new ones start.
  // If one cannot start, the previous inputs are restored and it throws.
  void reconcile_inputs(const AgentConfig& next);
  // Starts the retired inputs again into `back` (logs what fails).
  void restart_retired(const std::vector<Running>& retired, std::vector<Running>* back);
  // Starts one exporter per configured export and unregisters the change
  // feeds of exports no longer configured. Throws; leaves nothing running.
  void start_exports(const AgentConfig& c);
  void stop_exports();

  AgentConfig config_;
  std::string http_listen_;  // what the HTTP server is bound to (http.listen at start)
  std::optional<TlsFrontOptions> http_tls_;  // what it serves TLS with (http.tls at start)
  Metrics metrics_;
  exporter::ExportMetrics export_metrics_{metrics_.registry()};
  LiveTtlRules ttl_;
  RateLimiter bad_input_log_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<retention::RetentionThread> retention_;  // created after the engine
  // The engine's flush hook wakes the retention thread through this; it is
  // set before the engine opens, so the hook never races the thread's creation.
  std::shared_ptr<std::atomic<retention::RetentionThread*>> retention_hook_ =
      std::make_shared<std::atomic<retention::RetentionThread*>>(nullptr);
  std::unique_ptr<Batcher> batcher_;
  std::unique_ptr<HttpServer> http_;
  std::unique_ptr<PromApi> prom_api_;  // its routes on http_; destroyed first
  mutable std::mutex inputs_mu_;       // guards inputs_ against ready()
  std::vector<Running> inputs_;
  std::vector<std::unique_ptr<exporter::Exporter>> exporters_;  // controlling thread only
  std::atomic<bool> running_{false};
  double last_points_ = 0, last_stored_ = 0;
  std::chrono::steady_clock::time_point last_status_ = std::chrono::steady_clock::now();
};

}  // namespace flowdb::agent

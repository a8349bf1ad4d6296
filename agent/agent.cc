#include "agent/agent.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include "agent/registry.h"
#include "agent/retention_metrics.h"

namespace flowdb::agent {

retention::LogFn retention_log() {
  return [](retention::LogSeverity s, const std::string& line) {
    log(s == retention::LogSeverity::error  ? LogLevel::error
        : s == retention::LogSeverity::warn ? LogLevel::warn
                                            : LogLevel::info,
        "retention", line);
  };
}

Agent::Agent(AgentConfig config) : config_(std::move(config)) {}

Agent::~Agent() { stop(); }

void Agent::start() {
  set_log_level(config_.log_level);
  set_log_format(config_.log_format);
  ttl_.set(config_.ttl);
  Config engine_config = config_.engine;
  engine_config.logger = engine_logger();
  engine_config.on_flush_completed = [hook = retention_hook_] {
    if (auto* r = hook->load()) r->wake();  // a flush may have crossed max_disk
  };
  try {
    engine_ = Engine::open(engine_config);
  } catch (const Error& e) {
    if (e.code() != Errc::Corruption) throw;
    // One line (agent_main logs it as "cannot start: ..."), naming the fix.
    throw Error(Errc::Corruption, std::string(e.what()) +
                                      "; to recover what is readable, run `flowdb repair " +
                                      "--data-dir " + engine_config.data_dir +
                                      "` (it moves unreadable files into lost/, deletes nothing)");
  }
  log_info("agent", "engine open in " + config_.engine.data_dir);
  retention_ = std::make_unique<retention::RetentionThread>(
      engine_.get(), config_.retention, std::function<uint64_t()>{}, retention_log());
  retention_hook_->store(retention_.get());
  retention_->start();
  BatcherOptions batcher_options = config_.batcher;
  batcher_options.admission = [r = retention_.get()] { r->check_admission(); };
  batcher_ = std::make_unique<Batcher>(engine_.get(), &metrics_, batcher_options);
  batcher_->start();
  start_exports(config_);
  HttpHooks hooks;
  hooks.metrics_text = [this] {
    return metrics_.serialize(engine_.get()) + retention_metrics_text(retention_->stats());
  };
  hooks.ready = [this](std::string* why) { return ready(why); };
  hooks.engine = engine_.get();
  hooks.query_max_points = config_.http_query_max_points;
  hooks.auth_tokens = config_.http_auth_tokens;
  hooks.tls = config_.http_tls;
  http_ = std::make_unique<HttpServer>(config_.http_listen, std::move(hooks));
  PromApiOptions prom;
  prom.limits = config_.http_promql;
  prom.version = FLOWDB_VERSION;
  prom_api_ = std::make_unique<PromApi>(*engine_, std::move(prom));
  prom_api_->add_routes(*http_);
  http_listen_ = config_.http_listen;
  http_tls_ = config_.http_tls;
  log_info("http", "listening on " + config_.http_listen + " (port " + std::to_string(http_port()) +
                       (http_tls_ ? ", TLS" : "") +
                       "): /metrics /health /ready /api/v1/export, Prometheus API /api/v1/query");
  start_inputs(config_);
  running_ = true;
}

IngestContext Agent::ingest_context() {
  return IngestContext{batcher_.get(), &metrics_, &ttl_, &bad_input_log_, http_.get()};
}

void Agent::start_inputs(const AgentConfig& c) {
  const IngestContext ctx = ingest_context();
  std::vector<Running> started;  // on failure, destroying it stops what started
  for (const InputConfig& ic : c.inputs) {
    started.push_back({ic.type, ic.settings, ic.type->make(*ic.settings, ctx, {})});
    started.back().input->start();
  }
  std::lock_guard lock(inputs_mu_);
  inputs_ = std::move(started);
}

namespace {

// The settings of the retired inputs of `type`.
template <typename R>
std::vector<const InputSettings*> settings_of_type(const std::vector<R>& retired,
                                                   const InputType* type) {
  std::vector<const InputSettings*> out;
  for (const R& r : retired) {
    if (r.type == type) out.push_back(r.settings.get());
  }
  return out;
}

}  // namespace

void Agent::reconcile_inputs(const AgentConfig& next) {
  const IngestContext ctx = ingest_context();
  std::vector<Running> old;
  {
    std::lock_guard lock(inputs_mu_);
    old.swap(inputs_);
  }
  // Each running input whose type and fingerprint `next` has moves into that
  // entry's slot; the slots of new or changed inputs stay empty.
  std::vector<Running> now(next.inputs.size());
  for (size_t i = 0; i < next.inputs.size(); ++i) {
    for (Running& r : old) {
      if (r.input && r.type == next.inputs[i].type &&
          r.settings->fingerprint == next.inputs[i].settings->fingerprint) {
        now[i] = std::move(r);
        break;
      }
    }
  }
  // Retire the rest first: a changed UDP input frees its port for the new one.
  std::vector<Running> retired;
  for (Running& r : old) {
    if (!r.input) continue;
    r.input->stop();
    retired.push_back(std::move(r));
  }
  std::vector<bool> fresh(now.size(), false);
  try {
    for (size_t i = 0; i < now.size(); ++i) {
      if (now[i].input) continue;
      const InputConfig& ic = next.inputs[i];
      auto in = ic.type->make(*ic.settings, ctx, settings_of_type(retired, ic.type));
      in->start();
      now[i] = {ic.type, ic.settings, std::move(in)};
      fresh[i] = true;
    }
  } catch (...) {
    // Keep the inputs this reload did not start, stop the ones it started.
    std::vector<Running> back;
    for (size_t i = 0; i < now.size(); ++i) {
      if (!now[i].input) continue;
      if (fresh[i]) {
        now[i].input->stop();
      } else {
        back.push_back(std::move(now[i]));
      }
    }
    restart_retired(retired, &back);
    std::lock_guard lock(inputs_mu_);
    inputs_ = std::move(back);
    throw;
  }
  const size_t kept = std::count(fresh.begin(), fresh.end(), false);
  log_info("agent", "reload: " + std::to_string(kept) + " unchanged input(s) kept running, " +
                        std::to_string(retired.size()) + " stopped for new settings");
  std::lock_guard lock(inputs_mu_);
  inputs_ = std::move(now);
}

void Agent::restart_retired(const std::vector<Running>& retired, std::vector<Running>* back) {
  const IngestContext ctx = ingest_context();
  try {
    for (const Running& r : retired) {
      back->push_back({r.type, r.settings, r.type->make(*r.settings, ctx, {})});
      back->back().input->start();
    }
  } catch (const std::exception& e) {
    log_error("agent", std::string("reload: restoring the old inputs failed: ") + e.what());
  }
}

void Agent::start_exports(const AgentConfig& c) {
  std::vector<std::unique_ptr<exporter::Exporter>> started;  // stops them on failure
  std::set<std::string> names;
  for (const ExportConfig& e : c.exports) {
    auto sink = find_sink_type(e.type)->make(*e.table);
    started.push_back(std::make_unique<exporter::Exporter>(
        e.options, engine_->open_feed(e.options.name), std::move(sink), &export_metrics_));
    started.back()->start();
    names.insert(e.options.name);
    log_info("export", e.options.name + " (" + e.type + ") started at sequence " +
                           std::to_string(started.back()->status().acked_seq));
  }
  // A feed nobody reads would keep WAL forever.
  for (const FeedInfo& f : engine_->list_feeds()) {
    if (names.count(f.name) == 0) {
      log_warn("export", "export '" + f.name + "' is no longer configured; dropping its cursor (" +
                             std::to_string(f.lag) + " writes were not exported)");
      engine_->drop_feed(f.name);
    }
  }
  exporters_ = std::move(started);
}

void Agent::stop_exports() {
  for (auto& e : exporters_) e->stop();
  exporters_.clear();
}

void Agent::stop_inputs() {
  std::vector<Running> inputs;
  {
    std::lock_guard lock(inputs_mu_);
    inputs.swap(inputs_);
  }
  for (Running& r : inputs) r.input->stop();
}

void Agent::stop() {
  if (!engine_) return;
  running_ = false;
  log_info("agent", "stopping inputs");
  stop_inputs();
  size_t queued = batcher_ ? batcher_->queued_records() : 0;
  log_info("agent", "draining " + std::to_string(queued) + " queued records");
  if (batcher_) batcher_->stop();
  stop_exports();
  prom_api_.reset();  // removes its routes, waiting for queries still running
  http_.reset();
  retention_hook_->store(nullptr);
  if (retention_) retention_->stop();
  try {
    engine_->close();
    log_info("agent", "engine closed");
  } catch (const std::exception& e) {
    log_error("agent", std::string("engine close failed: ") + e.what());
  }
  batcher_.reset();
  retention_.reset();
  engine_.reset();
}

bool Agent::reload(const AgentConfig& next) {
  auto same_engine = [](const Config& a, const Config& b) {
    return a.data_dir == b.data_dir && a.time_bucket_secs == b.time_bucket_secs &&
           a.wal_sync_mode == b.wal_sync_mode && a.memtable_size_mb == b.memtable_size_mb &&
           a.block_cache_capacity_mb == b.block_cache_capacity_mb &&
           a.index_memory_budget_mb == b.index_memory_budget_mb && a.compression == b.compression &&
           a.max_open_files == b.max_open_files;
  };
  if (!same_engine(config_.engine, next.engine)) {
    log_warn("agent", "reload: storage changes take effect only after a restart");
  }
  if (http_listen_ != next.http_listen) {  // what runs, not the last file read
    log_warn("agent", "reload: http.listen " + next.http_listen +
                          " takes effect only after a restart; still listening on " + http_listen_);
  }
  if (http_tls_ != next.http_tls) {
    log_warn("agent", "reload: http.tls changes take effect only after a restart");
  }
  try {
    reconcile_inputs(next);
  } catch (const std::exception& e) {
    log_error("agent",
              std::string("reload: new inputs failed to start, keeping the old ones: ") + e.what());
    metrics_.config_reload(false);
    return false;
  }
  stop_exports();
  try {
    start_exports(next);
  } catch (const std::exception& e) {
    log_error("agent", std::string("reload: new exports failed to start, keeping the old ones: ") +
                           e.what());
    try {
      start_exports(config_);
    } catch (const std::exception& e2) {
      log_error("agent", std::string("reload: restoring the old exports failed: ") + e2.what());
    }
    metrics_.config_reload(false);
    return false;
  }
  http_->set_auth_tokens(next.http_auth_tokens);
  ttl_.set(next.ttl);
  retention_->set_options(next.retention);
  set_log_level(next.log_level);
  set_log_format(next.log_format);
  Config engine = config_.engine;
  config_ = next;
  config_.engine = engine;  // the running engine keeps its settings
  metrics_.config_reload(true);
  log_info("agent", "reloaded " + next.file + ": " + count_inputs(next) + " input(s), " +
                        std::to_string(next.exports.size()) + " export(s), " +
                        std::to_string(next.ttl.rules().size()) + " retention rule(s)");
  return true;
}

bool Agent::ready(std::string* why) const {
  if (!running_) {
    *why = "starting or stopping";
    return false;
  }
  if (const BackgroundError b = engine_->background_error();
      b.severity != BackgroundError::Severity::None) {
    *why = "engine refuses writes (" + std::string(severity_name(b.severity)) +
           " background error, " + std::string(errc_name(b.code)) + "): " + b.message;
    return false;
  }
  std::lock_guard lock(inputs_mu_);
  for (const Running& r : inputs_) {
    if (!r.input->ready(why)) return false;
  }
  return true;
}

void Agent::log_status() {
  auto now = std::chrono::steady_clock::now();
  double secs = std::chrono::duration<double>(now - last_status_).count();
  double points = metrics_.total_points_received();
  double stored = metrics_.total_records_stored();
  char buf[256];
  std::snprintf(buf, sizeof(buf),
                "%.0f points/s received, %.0f records/s stored, %.0f records stored, %.0f dropped, "
                "queue %zu, rss %.1f MiB",
                secs > 0 ? (points - last_points_) / secs : 0.0,
                secs > 0 ? (stored - last_stored_) / secs : 0.0, stored, metrics_.total_dropped(),
                batcher_ ? batcher_->queued_records() : 0,
                static_cast<double>(process_rss_bytes()) / (1 << 20));
  std::string line = buf;
  for (const auto& e : exporters_) {
    const exporter::ExporterStatus st = e->status();
    char eb[200];
    std::snprintf(eb, sizeof(eb), ", export %s lag %llu points %.0f s%s", e->options().name.c_str(),
                  static_cast<unsigned long long>(st.lag_points), st.lag_seconds,
                  st.failing ? " (failing)" : "");
    line += eb;
  }
  log_info("status", line);
  last_points_ = points;
  last_stored_ = stored;
  last_status_ = now;
}

}  // namespace flowdb::agent

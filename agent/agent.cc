#include "agent/agent.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include "export/sinks.h"

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
  http_ = std::make_unique<HttpServer>(config_.http_listen, std::move(hooks));
  http_listen_ = config_.http_listen;
  log_info("http", "listening on " + config_.http_listen + " (port " + std::to_string(http_port()) +
                       "): /metrics /health /ready /api/v1/query");
  start_inputs(config_);
  running_ = true;
}

void Agent::start_inputs(const AgentConfig& c) {
  IngestContext ctx{batcher_.get(), &metrics_, &ttl_, &bad_input_log_};
  std::vector<std::unique_ptr<ingest_udp::UdpInput>> udp;
  std::vector<std::unique_ptr<ingest_mqtt::MqttInput>> mqtt;
  // On failure the local vectors stop what they started.
  for (const auto& u : c.udp) {
    udp.push_back(std::make_unique<ingest_udp::UdpInput>(u, ctx));
    udp.back()->start();
  }
  for (const auto& m : c.mqtt) {
    mqtt.push_back(std::make_unique<ingest_mqtt::MqttInput>(m, ctx));
    mqtt.back()->start();
  }
  std::lock_guard lock(inputs_mu_);
  udp_ = std::move(udp);
  mqtt_ = std::move(mqtt);
}

namespace {

// Moves each running input whose fingerprint a `next` config has into that
// config's slot; the slots of new or changed inputs stay empty.
template <typename Input, typename Cfg>
std::vector<std::unique_ptr<Input>> take_unchanged(std::vector<std::unique_ptr<Input>>* running,
                                                   const std::vector<Cfg>& next) {
  std::vector<std::unique_ptr<Input>> slots(next.size());
  for (size_t i = 0; i < next.size(); ++i) {
    for (auto& r : *running) {
      if (r && r->config().fingerprint == next[i].fingerprint) {
        slots[i] = std::move(r);
        break;
      }
    }
  }
  return slots;
}

// Starts an input in every empty slot; `fresh` marks the ones started here.
template <typename Input, typename Cfg>
void start_missing(std::vector<std::unique_ptr<Input>>* slots, const std::vector<Cfg>& cfgs,
                   const IngestContext& ctx, std::vector<bool>* fresh) {
  fresh->assign(slots->size(), false);
  for (size_t i = 0; i < slots->size(); ++i) {
    if ((*slots)[i]) continue;
    auto in = std::make_unique<Input>(cfgs[i], ctx);
    in->start();
    (*slots)[i] = std::move(in);
    (*fresh)[i] = true;
  }
}

// Moves the inputs not started by a failed reload into `back`, stopping the
// ones it started.
template <typename Input>
void keep_old(std::vector<std::unique_ptr<Input>>* slots, const std::vector<bool>& fresh,
              std::vector<std::unique_ptr<Input>>* back) {
  for (size_t i = 0; i < slots->size(); ++i) {
    if (!(*slots)[i]) continue;
    if (i < fresh.size() && fresh[i]) {
      (*slots)[i]->stop();
    } else {
      back->push_back(std::move((*slots)[i]));
    }
  }
}

// The filters a persistent session of `c`'s client still holds from the
// retired inputs but `c` no longer subscribes to.
std::vector<std::string> removed_filters(const std::vector<ingest_mqtt::MqttInputConfig>& retired,
                                         const ingest_mqtt::MqttInputConfig& c) {
  std::set<std::string> out;
  if (c.clean_session) return {};  // a clean session starts with no subscriptions
  for (const auto& r : retired) {
    if (r.client_id != c.client_id || r.brokers != c.brokers || r.clean_session) continue;
    for (const auto* list : {&r.topics, &r.unsubscribe}) {
      for (const std::string& t : *list) {
        if (std::find(c.topics.begin(), c.topics.end(), t) == c.topics.end()) out.insert(t);
      }
    }
  }
  return {out.begin(), out.end()};
}

}  // namespace

void Agent::reconcile_inputs(const AgentConfig& next) {
  IngestContext ctx{batcher_.get(), &metrics_, &ttl_, &bad_input_log_};
  Inputs old;
  {
    std::lock_guard lock(inputs_mu_);
    old.udp.swap(udp_);
    old.mqtt.swap(mqtt_);
  }
  Inputs now{take_unchanged(&old.udp, next.udp), take_unchanged(&old.mqtt, next.mqtt)};
  // Retire the rest first: a changed UDP input frees its port for the new one.
  Retired retired;
  for (auto& u : old.udp) {
    if (!u) continue;
    retired.udp.push_back(u->config());
    u->stop();
  }
  for (auto& m : old.mqtt) {
    if (!m) continue;
    retired.mqtt.push_back(m->config());
    m->stop();
  }
  std::vector<ingest_mqtt::MqttInputConfig> mqtt_cfgs = next.mqtt;
  for (auto& c : mqtt_cfgs) c.unsubscribe = removed_filters(retired.mqtt, c);
  std::vector<bool> fresh_udp, fresh_mqtt;
  try {
    start_missing(&now.udp, next.udp, ctx, &fresh_udp);
    start_missing(&now.mqtt, mqtt_cfgs, ctx, &fresh_mqtt);
  } catch (...) {
    Inputs back;
    keep_old(&now.udp, fresh_udp, &back.udp);
    keep_old(&now.mqtt, fresh_mqtt, &back.mqtt);
    restart_retired(retired, &back);
    std::lock_guard lock(inputs_mu_);
    udp_ = std::move(back.udp);
    mqtt_ = std::move(back.mqtt);
    throw;
  }
  const size_t kept = std::count(fresh_udp.begin(), fresh_udp.end(), false) +
                      std::count(fresh_mqtt.begin(), fresh_mqtt.end(), false);
  log_info("agent", "reload: " + std::to_string(kept) + " unchanged input(s) kept running, " +
                        std::to_string(retired.udp.size() + retired.mqtt.size()) +
                        " stopped for new settings");
  std::lock_guard lock(inputs_mu_);
  udp_ = std::move(now.udp);
  mqtt_ = std::move(now.mqtt);
}

void Agent::restart_retired(const Retired& retired, Inputs* back) {
  IngestContext ctx{batcher_.get(), &metrics_, &ttl_, &bad_input_log_};
  try {
    for (const auto& c : retired.udp) {
      back->udp.push_back(std::make_unique<ingest_udp::UdpInput>(c, ctx));
      back->udp.back()->start();
    }
    for (const auto& c : retired.mqtt) {
      back->mqtt.push_back(std::make_unique<ingest_mqtt::MqttInput>(c, ctx));
      back->mqtt.back()->start();
    }
  } catch (const std::exception& e) {
    log_error("agent", std::string("reload: restoring the old inputs failed: ") + e.what());
  }
}

void Agent::start_exports(const AgentConfig& c) {
  std::vector<std::unique_ptr<exporter::Exporter>> started;  // stops them on failure
  std::set<std::string> names;
  for (const ExportConfig& e : c.exports) {
    auto sink = exporter::find_sink_type(e.type)->make(*e.table);
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
  std::vector<std::unique_ptr<ingest_udp::UdpInput>> udp;
  std::vector<std::unique_ptr<ingest_mqtt::MqttInput>> mqtt;
  {
    std::lock_guard lock(inputs_mu_);
    udp.swap(udp_);
    mqtt.swap(mqtt_);
  }
  for (auto& u : udp) u->stop();
  for (auto& m : mqtt) m->stop();
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
           a.block_cache_capacity_mb == b.block_cache_capacity_mb && a.compression == b.compression;
  };
  if (!same_engine(config_.engine, next.engine)) {
    log_warn("agent", "reload: storage changes take effect only after a restart");
  }
  if (http_listen_ != next.http_listen) {  // what runs, not the last file read
    log_warn("agent", "reload: http.listen " + next.http_listen +
                          " takes effect only after a restart; still listening on " + http_listen_);
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
  ttl_.set(next.ttl);
  retention_->set_policy(next.retention);
  set_log_level(next.log_level);
  set_log_format(next.log_format);
  Config engine = config_.engine;
  config_ = next;
  config_.engine = engine;  // the running engine keeps its settings
  metrics_.config_reload(true);
  log_info("agent", "reloaded " + next.file + ": " + std::to_string(next.udp.size()) + " udp and " +
                        std::to_string(next.mqtt.size()) + " mqtt input(s), " +
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
  for (const auto& u : udp_) {
    if (!u->running()) {
      *why = "udp input " + u->config().name + " is not running";
      return false;
    }
  }
  for (const auto& m : mqtt_) {
    if (m->connected() < m->config().brokers.size()) {
      *why = "mqtt input " + m->config().name + " is not connected to every broker";
      return false;
    }
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

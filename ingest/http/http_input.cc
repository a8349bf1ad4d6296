#include "ingest/http/http_input.h"

#include <stdexcept>

#include "agent/core/log.h"
#include "gzip_body.h"
#include "ingest/line_protocol.h"
#ifdef FLOWDB_WITH_REMOTE_WRITE
#include "remote_write.h"
#endif

namespace flowdb::ingest_http {
namespace {

using agent::HttpRequest;
using agent::HttpResponse;
using agent::KeyKind;
using agent::KeySpec;

// What /ping and every write answer claim to be: the 1.x API version
// clients check for (the 1.x CLI prints it).
constexpr const char* kInfluxVersion = "1.8.10";

constexpr KeySpec kHttpKeys[] = {
    {.name = "name",
     .kind = KeyKind::kString,
     .doc = "Input name used in metrics and logs (default httpN)"},
    {.name = "max_body_bytes",
     .kind = KeyKind::kSize,
     .default_value = "32MiB",
     .doc = "Largest write body, both as sent and after gzip decoding (413 beyond)",
     .min = 1024,
     .max = 1LL << 30},
    {.name = "max_line_bytes",
     .kind = KeyKind::kSize,
     .default_value = "64KiB",
     .doc = "Longest line; longer ones are parse errors (line_too_long)",
     .min = 256,
     .max = 16LL << 20},
    {.name = "db_tag",
     .kind = KeyKind::kString,
     .doc = "Tag key that receives the 1.x db / 2.x bucket of a write, replacing a tag of that "
            "key in the line (empty: db and bucket are ignored)"},
    {.name = "retry_after",
     .kind = KeyKind::kDuration,
     .default_value = "1s",
     .doc = "Retry-After of a 429 (batch queue full) or 503 (stopping), rounded up to seconds",
     .min = 0,
     .max = 3600LL * 1000000},
};

// Appends `s` as a JSON string literal.
void append_json(std::string* out, std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(ch);
    } else if (c < 0x20) {
      *out += "\\u00";
      out->push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 15]);
    } else {
      out->push_back(ch);
    }
  }
  out->push_back('"');
}

// The precision of a write: the line-protocol unit and, for the 1.x-only h
// and m, the factor from seconds.
struct WritePrecision {
  ingest::Precision unit = ingest::Precision::ns;
  int64_t seconds_factor = 1;
};

std::optional<WritePrecision> precision_of(std::string_view p, bool v1) {
  if (p.empty()) return WritePrecision{};
  if (v1 && p == "h") return WritePrecision{ingest::Precision::s, 3600};
  if (v1 && p == "m") return WritePrecision{ingest::Precision::s, 60};
  if (!v1 && (p == "n" || p == "u")) return std::nullopt;  // 2.x: ns, us, ms, s only
  auto u = ingest::parse_precision(p);
  if (!u) return std::nullopt;
  return WritePrecision{*u, 1};
}

}  // namespace

std::span<const KeySpec> http_config_keys() { return kHttpKeys; }

HttpInputConfig http_config_from(const agent::ParsedTable& t, const std::string& default_name) {
  HttpInputConfig c;
  c.name = t.str("name").empty() ? default_name : t.str("name");
  c.max_body_bytes = static_cast<size_t>(t.integer("max_body_bytes"));
  c.max_line_bytes = static_cast<size_t>(t.integer("max_line_bytes"));
  c.db_tag = t.str("db_tag");
  c.retry_after_s = static_cast<int>((t.integer("retry_after") + 999999) / 1000000);
  c.fingerprint = agent::fingerprint(t);
  return c;
}

namespace {

// The write API's paths exist once on the listener.
void check_one(std::span<const agent::InputSettings* const> all,
               std::span<const agent::ParsedTable* const> entries, agent::ConfigErrors* errs) {
  for (size_t i = 1; i < all.size(); ++i) {
    errs->collect([&] {
      entries[i]->fail("",
                       "a second http input; expected one (its routes /write, /api/v2/write "
                       "and /ping exist once on the HTTP listener)");
    });
  }
}

}  // namespace

const agent::InputType& http_input_type() {
  static const agent::InputType type{
      .type = "http",
      .doc = "HTTP inputs: the InfluxDB write API on the HTTP listener",
      .keys = http_config_keys,
      .settings = [](const agent::ParsedTable& t, const std::string& default_name)
          -> std::shared_ptr<const agent::InputSettings> {
        return std::make_shared<HttpInputConfig>(http_config_from(t, default_name));
      },
      .make = [](const agent::InputSettings& s, const agent::IngestContext& ctx,
                 std::span<const agent::InputSettings* const>) -> std::unique_ptr<agent::Input> {
        return std::make_unique<HttpInput>(static_cast<const HttpInputConfig&>(s), ctx);
      },
      .check = check_one,
  };
  return type;
}

HttpInput::HttpInput(HttpInputConfig config, agent::IngestContext ctx)
    : config_(std::move(config)), ctx_(ctx) {}

HttpInput::~HttpInput() { stop(); }

void HttpInput::start() {
  if (ctx_.http == nullptr) {
    throw std::runtime_error("http input " + config_.name + ": no HTTP listener");
  }
  auto ping = [](HttpRequest&, HttpResponse* r) {
    r->status = 204;
    r->headers = {{"X-Influxdb-Version", kInfluxVersion}, {"X-Influxdb-Build", "flowdb-agent"}};
  };
  std::vector<agent::HttpRoute> routes = {
      {"/write",
       {"POST"},
       true,
       [this](HttpRequest& q, HttpResponse* r) { write(Api::kV1, q, r); }},
      {"/api/v2/write",
       {"POST"},
       true,
       [this](HttpRequest& q, HttpResponse* r) { write(Api::kV2, q, r); }},
      {"/ping", {"GET"}, false, ping},
  };
#ifdef FLOWDB_WITH_REMOTE_WRITE
  routes.push_back({"/api/v1/write", {"POST"}, true, [this](HttpRequest& q, HttpResponse* r) {
                      remote_write(q, r);
                    }});
#endif
  size_t added = 0;
  try {
    for (agent::HttpRoute& route : routes) {
      agent::HttpRoute copy = route;
      ctx_.http->add(std::move(copy));
      ++added;
    }
  } catch (const std::exception& e) {
    for (size_t i = 0; i < added; ++i) ctx_.http->remove(routes[i].path);
    throw std::runtime_error("http input " + config_.name + ": " + e.what());
  }
  running_ = true;
  std::string paths;
  for (const agent::HttpRoute& r : routes) paths += " " + r.path;
  agent::log_info("http", config_.name + ": serving" + paths);
}

void HttpInput::stop() {
  if (!running_.exchange(false)) return;
  for (const char* p : {"/write", "/api/v2/write", "/ping", "/api/v1/write"}) ctx_.http->remove(p);
}

bool HttpInput::ready(std::string* why) const {
  if (running_.load()) return true;
  *why = "http input " + config_.name + " is not running";
  return false;
}

namespace {

// A write's reply in the dialect of its API.
struct Answer {
  bool v1;
  HttpResponse* r;

  void error(int status, std::string_view code, std::string_view message) const {
    r->status = status;
    r->content_type = "application/json; charset=utf-8";
    r->body.clear();
    if (v1) {
      r->body = "{\"error\":";
      append_json(&r->body, message);
    } else {
      r->body = "{\"code\":";
      append_json(&r->body, code);
      r->body += ",\"message\":";
      append_json(&r->body, message);
    }
    r->body += "}\n";
  }
  void retry_later(int status, int seconds, std::string_view message) const {
    error(status, status == 429 ? "too many requests" : "unavailable", message);
    r->headers.emplace_back("Retry-After", std::to_string(seconds));
  }
};

// Reads, bounds and decodes the body; false (with the answer set) if it
// cannot be had.
bool read_body(HttpRequest& req, size_t max, const Answer& a, std::string* body) {
  std::string raw;
  switch (req.read_body(max, &raw)) {
    case HttpRequest::BodyStatus::kOk:
      break;
    case HttpRequest::BodyStatus::kTooLarge:
      a.error(413, "request too large",
              "request body larger than max_body_bytes (" + std::to_string(max) + ")");
      return false;
    case HttpRequest::BodyStatus::kError:
      a.error(400, "invalid", "incomplete request body");
      return false;
  }
  const std::string enc = req.header("Content-Encoding").value_or("identity");
  if (enc == "identity" || enc.empty()) {
    *body = std::move(raw);
    return true;
  }
  if (enc != "gzip") {
    a.error(415, "unsupported media type", "unsupported Content-Encoding: " + enc);
    return false;
  }
  std::string why;
  switch (gunzip(raw, max, body, &why)) {
    case GunzipStatus::kOk:
      return true;
    case GunzipStatus::kTooLarge:
      a.error(413, "request too large",
              "decompressed body larger than max_body_bytes (" + std::to_string(max) + ")");
      return false;
    case GunzipStatus::kCorrupt:
      a.error(400, "invalid", "Content-Encoding: gzip: " + why);
      return false;
  }
  return false;
}

// Hands the records to the sink and waits for the WAL; false (with the
// answer set) if they were not stored.
bool store(const agent::IngestContext& ctx, const HttpInputConfig& c,
           agent::PayloadRecords& records, const Answer& a, const std::string& who) {
  if (records.empty()) return true;
  const size_t points = records.points();
  switch (ctx.sink->try_submit_wait(c.name, records.take(), points)) {
    case agent::RecordSink::Result::kStored:
      return true;
    case agent::RecordSink::Result::kBusy:
      ctx.bad_input_log->log(agent::LogLevel::warn, "http", c.name + "/queue_full", [&] {
        return c.name + ": batch queue full, answering 429 (Retry-After) to " + who;
      });
      a.retry_later(429, c.retry_after_s,
                    "the batch queue is full; nothing was written, retry later");
      return false;
    case agent::RecordSink::Result::kStopped:
      a.retry_later(503, c.retry_after_s,
                    "the agent is stopping; nothing was written, retry later");
      return false;
    case agent::RecordSink::Result::kDropped:
      a.error(500, "internal error",
              "the write to storage failed; see the agent log and "
              "flowdb_input_points_dropped_total");
      return false;
  }
  return false;
}

}  // namespace

void HttpInput::write(Api api, HttpRequest& req, HttpResponse* resp) {
  const bool v1 = api == Api::kV1;
  const Answer a{v1, resp};
  resp->headers.emplace_back("X-Influxdb-Version", kInfluxVersion);
  const std::string precision_text = req.param("precision").value_or("");
  const auto precision = precision_of(precision_text, v1);
  if (!precision) {
    return a.error(400, "invalid",
                   "invalid precision '" + precision_text + "'; expected " +
                       (v1 ? "ns, us, ms, s, n, u, h or m" : "ns, us, ms or s"));
  }
  std::string body;
  if (!read_body(req, config_.max_body_bytes, a, &body)) return;
  const std::string who = "http " + req.remote();
  const agent::Sender from{who};
  const std::string db = req.param(v1 ? "db" : "bucket").value_or("");

  agent::InputMetrics& im = ctx_.metrics->input(config_.name);
  im.messages->Increment();
  im.bytes->Increment(static_cast<double>(body.size()));
  ingest::LineProtocolOptions lp;
  lp.precision = precision->unit;
  lp.max_line_bytes = config_.max_line_bytes;
  ingest::LineProtocolParser parser(lp);
  agent::PayloadRecords records(ctx_, config_.name);
  const int64_t now = agent::now_us();
  records.begin(ctx_.ttl->get(), now, from);
  std::string first_error;
  uint64_t bad = 0, out_of_range = 0;  // bad lines; of them, delivered points
  ingest::Point copy;
  auto on_point = [&](const ingest::Point& p) {
    if (precision->seconds_factor == 1 && (config_.db_tag.empty() || db.empty())) {
      return records.add(p);
    }
    copy = p;
    if (!config_.db_tag.empty() && !db.empty()) ingest::upsert_tag(&copy.tags, config_.db_tag, db);
    if (copy.has_ts && __builtin_mul_overflow(copy.ts_us, precision->seconds_factor, &copy.ts_us)) {
      ++bad;
      ++out_of_range;
      if (first_error.empty()) first_error = "timestamp out of range";
      ctx_.drop_points(config_.name, "timestamp_out_of_range", 1, from,
                       "timestamp out of range for precision " + precision_text);
      return;
    }
    records.add(copy);
  };
  auto on_error = [&](const ingest::ParseError& e) {
    ++bad;
    if (first_error.empty()) {
      first_error = "unable to parse line " + std::to_string(e.line_no) + ": " +
                    std::string(ingest::reason_name(e.reason)) + " (" + e.message + ")";
    }
    ctx_.parse_error(config_.name, e, from);
  };
  const ingest::ParseStats stats = parser.parse(body, now, on_point, on_error);
  records.end();
  const uint64_t good = stats.points - out_of_range;
  im.points->Increment(static_cast<double>(good));
  if (!store(ctx_, config_, records, a, who)) return;
  if (bad == 0) {
    resp->status = 204;
    return;
  }
  // InfluxDB's wording: "partial write: ..." when some points were written.
  const std::string prefix = good > 0 ? "partial write: " : "";
  a.error(400, "invalid", prefix + first_error + " dropped=" + std::to_string(bad));
}

#ifdef FLOWDB_WITH_REMOTE_WRITE
void HttpInput::remote_write(HttpRequest& req, HttpResponse* resp) {
  const Answer a{true, resp};
  const std::string enc = req.header("Content-Encoding").value_or("snappy");
  if (enc != "snappy") {
    return a.error(415, "unsupported media type",
                   "remote write bodies are snappy-compressed; Content-Encoding: " + enc);
  }
  std::string body;
  switch (req.read_body(config_.max_body_bytes, &body)) {
    case HttpRequest::BodyStatus::kOk:
      break;
    case HttpRequest::BodyStatus::kTooLarge:
      return a.error(413, "request too large", "request body larger than max_body_bytes");
    case HttpRequest::BodyStatus::kError:
      return a.error(400, "invalid", "incomplete request body");
  }
  const std::string who = "http " + req.remote();
  const agent::Sender from{who};
  agent::InputMetrics& im = ctx_.metrics->input(config_.name);
  im.messages->Increment();
  im.bytes->Increment(static_cast<double>(body.size()));
  agent::PayloadRecords records(ctx_, config_.name);
  records.begin(ctx_.ttl->get(), agent::now_us(), from);
  RemoteWriteStats stats;
  std::string why;
  const RemoteWriteStatus st = decode_remote_write(
      body, config_.max_body_bytes, [&](const ingest::Point& p) { records.add(p); }, &stats, &why);
  if (st == RemoteWriteStatus::kTooLarge) {
    return a.error(413, "request too large", "decoded body larger than max_body_bytes");
  }
  if (st == RemoteWriteStatus::kCorrupt) {
    ctx_.drop_payload(config_.name, "syntax", from, why);
    return a.error(400, "invalid", why);
  }
  records.end();
  im.points->Increment(static_cast<double>(stats.points));
  const std::pair<const char*, uint64_t> bad[] = {
      {"missing_measurement", stats.missing_measurement},
      {"timestamp_out_of_range", stats.out_of_range}};
  for (const auto& [reason, n] : bad) {
    if (n > 0) {
      ctx_.drop_points(config_.name, reason, static_cast<double>(n), from,
                       std::to_string(n) + " remote-write sample(s) not storable");
    }
  }
  if (!store(ctx_, config_, records, a, who)) return;
  resp->status = 204;
}
#endif

}  // namespace flowdb::ingest_http

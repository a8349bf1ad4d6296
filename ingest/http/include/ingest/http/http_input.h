// HTTP input: the InfluxDB write API on the agent's HTTP listener, for
// Telegraf's outputs.influxdb / outputs.influxdb_v2 and the InfluxDB client
// libraries.
//
// Routes (added to IngestContext::http on start(), removed on stop()):
//  * POST /write?db=&rp=&precision=ns|us|ms|s|n|u|h|m   (InfluxDB 1.x)
//  * POST /api/v2/write?org=&bucket=&precision=ns|us|ms|s (InfluxDB 2.x)
//  * GET|HEAD /ping: 204 with X-Influxdb-Version
//  * POST /api/v1/write: Prometheus remote write 1.0 (remote_write.h), in
//    builds with FLOWDB_WITH_REMOTE_WRITE; the same acknowledgement, 204.
// The body is line protocol, optionally `Content-Encoding: gzip`, at most
// max_body_bytes before and after decompression (413 beyond). A write is
// answered only once its points are in the WAL (RecordSink::try_submit_wait):
//  * 204: every line was stored;
//  * 400 with InfluxDB's JSON error body ("partial write: ... dropped=N"):
//    some lines were bad; the good ones ARE stored, the bad ones are counted
//    as parse errors (per reason) like for every input;
//  * 429 with Retry-After: the batch queue is full (nothing was stored), 503
//    with Retry-After while the agent stops, 500 if the write failed;
//  * 413 (body too large), 415 (an encoding other than gzip/identity), 400
//    (bad gzip, a bad precision).
// 1.x routes answer errors as {"error":"..."}, 2.x ones as
// {"code":"invalid","message":"..."}. db / bucket become the tag `db_tag`
// when that is configured (replacing a tag of that key in the line); else
// they are ignored, as are rp and org.
//
// Thread-safety: start()/stop() from one controlling thread; the handlers run
// on the HTTP server's threads, each request with its own parser.
#pragma once

#include <atomic>
#include <span>
#include <string>

#include "agent/core/config_schema.h"
#include "agent/core/http_route.h"
#include "agent/core/ingest_context.h"
#include "agent/core/input.h"

namespace flowdb::ingest_http {

// The declarative table of the keys of one `inputs.http[]` entry.
std::span<const agent::KeySpec> http_config_keys();

struct HttpInputConfig : agent::InputSettings {
  size_t max_body_bytes = 32u << 20;  // compressed and decompressed
  size_t max_line_bytes = 64u << 10;
  std::string db_tag;     // "": db / bucket ignored
  int retry_after_s = 1;  // Retry-After of 429 / 503
};

// Builds the config from a validated table. Throws agent::ConfigError.
HttpInputConfig http_config_from(const agent::ParsedTable& t, const std::string& default_name);

// The `http` input type, for the registry (agent/registry.cc).
const agent::InputType& http_input_type();

class HttpInput : public agent::Input {
 public:
  // REQUIRES: ctx.http is set (the agent's HTTP listener).
  HttpInput(HttpInputConfig config, agent::IngestContext ctx);
  ~HttpInput() override;  // stop()s
  HttpInput(const HttpInput&) = delete;
  HttpInput& operator=(const HttpInput&) = delete;

  // Adds the routes. Throws std::runtime_error if a path is taken or there
  // is no HTTP listener (nothing is left added).
  void start() override;
  // Removes the routes, waiting for running requests. Idempotent.
  void stop() override;
  const agent::InputSettings& settings() const override { return config_; }
  bool ready(std::string* why) const override;

 private:
  enum class Api { kV1, kV2 };
  void write(Api api, agent::HttpRequest& req, agent::HttpResponse* resp);
  void remote_write(agent::HttpRequest& req, agent::HttpResponse* resp);  // /api/v1/write

  HttpInputConfig config_;
  agent::IngestContext ctx_;
  std::atomic<bool> running_{false};
};

}  // namespace flowdb::ingest_http

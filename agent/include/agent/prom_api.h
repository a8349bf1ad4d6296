// The Prometheus HTTP API v1 over the gateway's data (issue 18):
// /api/v1/query, /api/v1/query_range (GET and form POST), /api/v1/series,
// /api/v1/labels, /api/v1/label/<name>/values, /api/v1/metadata,
// /api/v1/status/buildinfo and remote read (POST /api/v1/read), with
// Prometheus's JSON envelopes, status codes and errorTypes. Series naming:
// prom_storage.h. Evaluation: agent/promql.
//
// Thread-safety: the handlers may run concurrently (one EngineQuerier, on
// its own snapshot, per request). The routes are removed by the destructor,
// which waits for running handlers (HttpRoutes::remove).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "agent/core/http_route.h"
#include "agent/prom_params.h"
#include "agent/promql/eval.h"
#include "flowdb/engine.h"

namespace flowdb::agent {

struct PromApiOptions {
  promql::Limits limits;
  // Points per series of one query_range, as Prometheus (11,000).
  int64_t max_points_per_series = 11000;
  // Largest form POST or remote-read body.
  size_t max_body_bytes = 16 << 20;
  std::string version;  // /api/v1/status/buildinfo
};

class PromApi {
 public:
  // `engine` and `routes` must outlive this.
  PromApi(Engine& engine, PromApiOptions options);
  ~PromApi();
  PromApi(const PromApi&) = delete;
  PromApi& operator=(const PromApi&) = delete;

  // Serves the routes on `routes` (auth as the write routes: a token when
  // http.auth is configured). Throws std::runtime_error if a path is taken.
  void add_routes(HttpRoutes& routes);

  // The handlers, on parsed parameters (also for tests). `now_ms` is the
  // default evaluation time.
  HttpResponse query(const PromParams& p, int64_t now_ms);
  HttpResponse query_range(const PromParams& p);
  HttpResponse series(const PromParams& p);
  HttpResponse labels(const PromParams& p);
  HttpResponse label_values(std::string_view name, const PromParams& p);
  HttpResponse metadata(const PromParams& p);
  HttpResponse buildinfo();
  // Remote read: a snappy-compressed prometheus.ReadRequest.
  HttpResponse read(std::string_view body);

 private:
  template <typename Fn>
  HttpResponse guarded(Fn&& fn);
  void serve(HttpRequest& req, HttpResponse* resp);

  Engine& engine_;
  const PromApiOptions options_;
  HttpRoutes* routes_ = nullptr;
  std::vector<std::string> paths_;
};

}  // namespace flowdb::agent

// The agent's one HTTP listener (civetweb): /metrics (Prometheus text format),
// /health (process alive), /ready (engine open and every input up) and
// GET /api/v1/query (see query_format.h). Errors are JSON {"error": "..."}
// with a proper status code.
//
// Thread-safety: handlers run on civetweb worker threads; the callbacks given
// here must be thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "flowdb/engine.h"

class CivetServer;

namespace flowdb::agent {

class Metrics;

struct HttpHooks {
  std::function<std::string()> metrics_text;
  std::function<bool(std::string*)> ready;  // fills a reason when not ready
  Engine* engine = nullptr;
  size_t query_max_points = 100000;
};

class HttpServer {
 public:
  // Listens on `listen` ("host:port", "[v6]:port"); throws std::runtime_error.
  HttpServer(const std::string& listen, HttpHooks hooks);
  ~HttpServer();
  int port() const;

  class Handler;  // civetweb adaptor (http_server.cc)

 private:
  std::string listen_;
  HttpHooks hooks_;
  std::unique_ptr<CivetServer> server_;
  std::vector<std::unique_ptr<Handler>> handlers_;
};

}  // namespace flowdb::agent

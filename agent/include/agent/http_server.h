// The agent's one HTTP listener (civetweb): /metrics (Prometheus text format),
// /health (process alive), /ready (engine open and every input up),
// /api/v1/query and /api/v1/series (see query_format.h).
//
// Paths match exactly and case-sensitively; any other path is 404. Every
// route answers GET and HEAD (the same headers, no body); other methods get
// 405 with "Allow: GET, HEAD". Errors are JSON {"error": "..."} with a proper
// status code. Query results are streamed: with Content-Length if they fit
// the first 64 KiB, else chunked (HTTP/1.1) or delimited by the connection's
// close (HTTP/1.0); X-Flowdb-Truncated: true|false says whether the limit cut
// the result off.
//
// Thread-safety: handlers run on civetweb worker threads; the callbacks given
// here must be thread-safe.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "flowdb/engine.h"

class CivetServer;
struct mg_connection;

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
  class Reply;    // one response (http_server.cc)

 private:
  void dispatch(mg_connection* c, std::string_view method);
  void serve_query(Reply& reply, bool series);

  std::string listen_;
  HttpHooks hooks_;
  std::map<std::string, std::function<void(Reply&)>, std::less<>> routes_;
  std::unique_ptr<Handler> handler_;
  std::unique_ptr<CivetServer> server_;
};

}  // namespace flowdb::agent

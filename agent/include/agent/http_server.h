// The agent's one HTTP listener (civetweb): /metrics (Prometheus text format),
// /health (process alive), /ready (engine open and every input up),
// /api/v1/query and /api/v1/export/series (see query_format.h).
//
// Inputs add their own routes through the HttpRoutes interface
// (agent/core/http_route.h): the InfluxDB write API of ingest/http.
//
// Paths match exactly and case-sensitively; any other path is 404. Every
// built-in route answers GET and HEAD (the same headers, no body); other
// methods get 405 with "Allow: GET, HEAD". An added route answers its own
// methods (GET implies HEAD), others get 405 with its Allow list. Errors are JSON {"error": "..."}
// with a proper status code. Query results are streamed: with Content-Length if they fit the first
// 64 KiB, else chunked (HTTP/1.1) or delimited by the connection's close (HTTP/1.0);
// X-Flowdb-Truncated: true|false says whether the limit cut the result off.
//
// With http.tls (HttpHooks::tls) the listen address is served by a TlsFront
// (tls_front.h) and civetweb listens only on an internal 127.0.0.1 port.
//
// Thread-safety: handlers run on civetweb worker threads; the callbacks given
// here must be thread-safe.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "agent/core/http_route.h"
#include "agent/http_auth.h"
#include "agent/tls_front.h"
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
  // http.auth: the tokens the query API and the inputs' write routes require
  // (see http_auth.h); empty = no authentication. /metrics, /health, /ready
  // and /ping stay open.
  std::vector<std::string> auth_tokens;
  // http.tls: serve `listen` over TLS through a TlsFront; unset = plain HTTP.
  std::optional<TlsFrontOptions> tls;
};

class HttpServer : public HttpRoutes {
 public:
  // Listens on `listen` ("host:port", "[v6]:port"); throws std::runtime_error.
  HttpServer(const std::string& listen, HttpHooks hooks);
  ~HttpServer() override;
  // The port of `listen` (the TLS front's with http.tls).
  int port() const;
  // The TLS front, or null without http.tls.
  const TlsFront* tls_front() const { return front_.get(); }

  // HttpRoutes: a path taken by a built-in route or another input throws.
  void add(HttpRoute route) override;
  void remove(std::string_view path) override;
  // Replaces the http.auth tokens (a reload); empty turns authentication off.
  void set_auth_tokens(std::vector<std::string> tokens) { auth_.set(std::move(tokens)); }

  class Handler;  // civetweb adaptor (http_server.cc)
  class Reply;    // one response (http_server.cc)

 private:
  int civet_port() const;
  // Stops civetweb without waiting for its idle poll to time out.
  void close_civet();
  void dispatch(mg_connection* c, std::string_view method);
  void serve_query(Reply& reply, bool series);
  // False (having answered 401) if http.auth is on and `c` has no valid token.
  bool authorized(mg_connection* c, Reply& reply);
  // Serves an added route; false if `path` is not one.
  bool serve_added(mg_connection* c, std::string_view method, std::string_view path, Reply& reply);

  // An added route and how many handler calls of it run.
  struct Added {
    HttpRoute route;
    int active = 0;  // guarded by added_mu_
  };

  // Where civetweb listens: `listen`, or 127.0.0.1:0 behind the TLS front.
  std::string civet_listen_;
  HttpHooks hooks_;
  HttpAuth auth_;
  std::map<std::string, std::function<void(Reply&)>, std::less<>> routes_;
  std::mutex added_mu_;
  std::condition_variable added_cv_;  // an added route's handler returned
  std::map<std::string, std::shared_ptr<Added>, std::less<>> added_;  // guarded by added_mu_
  std::unique_ptr<Handler> handler_;
  std::unique_ptr<CivetServer> server_;
  std::unique_ptr<TlsFront> front_;  // stopped before civetweb
};

}  // namespace flowdb::agent

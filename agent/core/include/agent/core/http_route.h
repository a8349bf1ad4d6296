// HTTP routes that plugins serve on the agent's one HTTP listener, without
// knowing the server behind it (the daemon's HttpServer, civetweb, implements
// HttpRoutes; a plugin sees only these types).
//
// An input that serves HTTP (ingest/http: the InfluxDB write API) adds its
// routes in Input::start() and removes them in Input::stop(). A route is one
// exact, case-sensitive path (or a path prefix) with the methods it answers; the server answers
// 405 (with Allow) for other methods and 404 for unknown paths. Routes marked
// `auth` need a valid token when the listener has `http.auth` configured; the
// server checks it (401 otherwise) before the handler runs.
//
// Thread-safety: HttpRoutes is thread-safe. Handlers run on the server's
// worker threads, several at once; remove() returns only once no handler of
// the route runs any more, so a handler may use its input until stop().
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace flowdb::agent {

// One request, valid during the handler call only.
class HttpRequest {
 public:
  virtual ~HttpRequest() = default;
  virtual std::string_view method() const = 0;  // "GET", "POST", ...
  virtual std::string_view path() const = 0;    // without the query string
  // A query-string parameter, URL-decoded; nullopt if absent.
  virtual std::optional<std::string> param(std::string_view name) const = 0;
  // The raw query string (after '?', not decoded); "" if none.
  virtual std::string_view query() const = 0;
  // A request header (name case-insensitive); nullopt if absent.
  virtual std::optional<std::string> header(std::string_view name) const = 0;
  // The client's address, "127.0.0.1:50000" or "[::1]:50000", for logs.
  virtual std::string remote() const = 0;

  enum class BodyStatus { kOk, kTooLarge, kError };
  // Reads the whole body into *out. kTooLarge (without reading it all) if it
  // is longer than `max_bytes`; kError if the client went away mid-body.
  // Call at most once.
  virtual BodyStatus read_body(size_t max_bytes, std::string* out) = 0;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";             // ignored when body is empty
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
  std::string body;
};

using HttpHandler = std::function<void(HttpRequest&, HttpResponse*)>;

struct HttpRoute {
  std::string path;                  // exact: "/api/v2/write"
  std::vector<std::string> methods;  // "POST"; "GET" also answers HEAD
  bool auth = false;                 // needs a token when http.auth is configured
  HttpHandler handler;
  // Also serve every path that starts with `path` (e.g. "/api/v1/label/"
  // for /api/v1/label/<name>/values); an exact route wins over a prefix one.
  bool prefix = false;
};

class HttpRoutes {
 public:
  virtual ~HttpRoutes() = default;
  // Serves `route` from now on. Throws std::runtime_error if its path is
  // already served (by the daemon or another input).
  virtual void add(HttpRoute route) = 0;
  // Stops serving `path` and waits until no handler of it runs. No-op for
  // a path that is not served.
  virtual void remove(std::string_view path) = 0;
};

}  // namespace flowdb::agent

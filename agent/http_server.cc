#include "agent/http_server.h"

#include <CivetServer.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

#include "agent/core/ingest_context.h"
#include "agent/core/net_address.h"
#include "agent/query_format.h"

namespace flowdb::agent {
namespace {

// Opens and at once closes a TCP connection to the listener `listen` on
// `port` (a wildcard address is reached through loopback).
void poke(const std::string& listen, int port) {
  sockaddr_storage ss;
  unsigned len;
  std::string err;
  if (!parse_host_port(listen, &ss, &len, &err)) return;
  if (ss.ss_family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    if (a->sin_addr.s_addr == htonl(INADDR_ANY)) a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a->sin_port = htons(static_cast<uint16_t>(port));
  } else {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    if (IN6_IS_ADDR_UNSPECIFIED(&a->sin6_addr)) a->sin6_addr = in6addr_loopback;
    a->sin6_port = htons(static_cast<uint16_t>(port));
  }
  int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  [[maybe_unused]] int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&ss), len);
  ::close(fd);
}

}  // namespace

// One response on `c`. HEAD gets the headers GET would, and no body.
class HttpServer::Reply {
 public:
  Reply(mg_connection* c, bool head) : c_(c), head_(head) {
    const mg_request_info* ri = mg_get_request_info(c);
    http11_ = ri->http_version != nullptr && std::string_view(ri->http_version) == "1.1";
  }
  bool head() const { return head_; }
  bool started() const { return started_; }
  mg_connection* conn() const { return c_; }

  void send(int status, std::string_view type, const std::string& body,
            const std::string& extra_headers = "") {
    start(status, type, extra_headers + "Content-Length: " + std::to_string(body.size()) + "\r\n");
    if (!head_) mg_write(c_, body.data(), body.size());
  }
  void error(int status, std::string_view message, const std::string& extra_headers = "") {
    send(status, "application/json", json_error(message), extra_headers);
  }
  // Streaming: begin (with Content-Length if `total` is known, else chunked
  // on HTTP/1.1), then write; returns false once the body is not wanted.
  bool begin(int status, std::string_view type, const std::string& extra_headers,
             std::optional<size_t> total) {
    chunked_ = !total && http11_;
    std::string h = extra_headers;
    if (total) h += "Content-Length: " + std::to_string(*total) + "\r\n";
    if (chunked_) h += "Transfer-Encoding: chunked\r\n";
    return start(status, type, h) && !head_;
  }
  bool write(std::string_view data) {
    if (data.empty()) return true;
    if (chunked_) return mg_send_chunk(c_, data.data(), static_cast<unsigned>(data.size())) > 0;
    return mg_write(c_, data.data(), data.size()) > 0;
  }
  void end() {
    if (chunked_ && !head_) mg_write(c_, "0\r\n\r\n", 5);
  }

 private:
  bool start(int status, std::string_view type, const std::string& headers) {
    started_ = true;
    std::string h = "HTTP/1.1 " + std::to_string(status) + " " +
                    mg_get_response_code_text(c_, status) +
                    "\r\nContent-Type: " + std::string(type) + "\r\n" + headers +
                    "Cache-Control: no-store\r\nConnection: close\r\n\r\n";
    return mg_write(c_, h.data(), h.size()) > 0;
  }
  mg_connection* c_;
  bool head_, http11_ = false, chunked_ = false, started_ = false;
};

class HttpServer::Handler : public CivetHandler {
 public:
  using Fn = std::function<void(mg_connection*, std::string_view)>;
  explicit Handler(Fn fn) : fn_(std::move(fn)) {}
  bool handleGet(CivetServer*, mg_connection* c) override { return run(c, "GET"); }
  bool handleHead(CivetServer*, mg_connection* c) override { return run(c, "HEAD"); }
  bool handlePost(CivetServer*, mg_connection* c) override { return run(c, "POST"); }
  bool handlePut(CivetServer*, mg_connection* c) override { return run(c, "PUT"); }
  bool handleDelete(CivetServer*, mg_connection* c) override { return run(c, "DELETE"); }
  bool handleOptions(CivetServer*, mg_connection* c) override { return run(c, "OPTIONS"); }
  bool handlePatch(CivetServer*, mg_connection* c) override { return run(c, "PATCH"); }

 private:
  bool run(mg_connection* c, std::string_view method) {
    fn_(c, method);
    return true;
  }
  Fn fn_;
};

namespace {

// Feeds a streamed query into a Reply, with the truncation header.
class ReplySink : public QuerySink {
 public:
  explicit ReplySink(HttpServer::Reply& r) : r_(r) {}
  bool begin(const std::string& type, bool truncated, std::optional<size_t> total) override {
    return r_.begin(200, type,
                    std::string("X-Flowdb-Truncated: ") + (truncated ? "true" : "false") + "\r\n",
                    total);
  }
  bool write(std::string_view data) override { return r_.write(data); }

 private:
  HttpServer::Reply& r_;
};

// HttpRequest over a civetweb connection.
class CivetRequest : public HttpRequest {
 public:
  CivetRequest(mg_connection* c, std::string_view method)
      : c_(c), ri_(mg_get_request_info(c)), method_(method) {}
  std::string_view method() const override { return method_; }
  std::string_view path() const override { return ri_->local_uri != nullptr ? ri_->local_uri : ""; }
  std::optional<std::string> param(std::string_view name) const override {
    // Not CivetServer::getParam: for a form-encoded POST it consumes the body.
    if (ri_->query_string == nullptr) return std::nullopt;
    const std::string n(name);
    const size_t qlen = std::strlen(ri_->query_string);
    std::string buf(qlen + 1, '\0');
    const int len = mg_get_var(ri_->query_string, qlen, n.c_str(), buf.data(), buf.size());
    if (len < 0) return std::nullopt;
    buf.resize(static_cast<size_t>(len));
    return buf;
  }
  std::string_view query() const override {
    return ri_->query_string != nullptr ? ri_->query_string : "";
  }
  std::optional<std::string> header(std::string_view name) const override {
    const char* v = mg_get_header(c_, std::string(name).c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  }
  std::string remote() const override {
    const std::string a = ri_->remote_addr;
    const std::string port = std::to_string(ri_->remote_port);
    return a.find(':') != std::string::npos ? "[" + a + "]:" + port : a + ":" + port;
  }
  BodyStatus read_body(size_t max_bytes, std::string* out) override {
    out->clear();
    const long long declared = ri_->content_length;  // -1: chunked or unknown
    if (declared > 0 && static_cast<unsigned long long>(declared) > max_bytes) {
      return BodyStatus::kTooLarge;
    }
    if (declared > 0) out->reserve(static_cast<size_t>(declared));
    char buf[65536];
    for (;;) {
      const int n = mg_read(c_, buf, sizeof(buf));
      if (n < 0) return BodyStatus::kError;
      if (n == 0) break;
      if (out->size() + static_cast<size_t>(n) > max_bytes) return BodyStatus::kTooLarge;
      out->append(buf, static_cast<size_t>(n));
    }
    if (declared >= 0 && out->size() != static_cast<size_t>(declared)) return BodyStatus::kError;
    return BodyStatus::kOk;
  }

 private:
  mg_connection* c_;
  const mg_request_info* ri_;
  std::string_view method_;
};

// The TLS front's counters in the Prometheus text format.
std::string tls_metrics_text(const TlsFront& f) {
  return "# HELP flowdb_http_tls_connections_rejected_total TLS connections closed at once "
         "because http.tls.max_connections were open\n"
         "# TYPE flowdb_http_tls_connections_rejected_total counter\n"
         "flowdb_http_tls_connections_rejected_total " +
         std::to_string(f.rejected()) +
         "\n# HELP flowdb_http_tls_handshake_failures_total TLS handshakes that failed or timed "
         "out\n"
         "# TYPE flowdb_http_tls_handshake_failures_total counter\n"
         "flowdb_http_tls_handshake_failures_total " +
         std::to_string(f.handshake_failures()) + "\n";
}

std::string join(const std::vector<std::string>& v, std::string_view sep) {
  std::string out;
  for (const std::string& s : v) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

}  // namespace

HttpServer::HttpServer(const std::string& listen, HttpHooks hooks)
    : civet_listen_(hooks.tls ? "127.0.0.1:0" : listen), hooks_(std::move(hooks)) {
  auth_.set(std::move(hooks_.auth_tokens));
  std::vector<std::string> opts = {"listening_ports",   civet_listen_, "num_threads", "4",
                                   "enable_keep_alive", "no"};
  try {
    server_ = std::make_unique<CivetServer>(opts);
  } catch (const CivetException& e) {
    throw std::runtime_error("http: cannot listen on " + civet_listen_ + ": " + e.what());
  }
  if (server_->getContext() == nullptr)
    throw std::runtime_error("http: cannot listen on " + civet_listen_);
  routes_["/metrics"] = [this](Reply& r) {
    std::string text = hooks_.metrics_text();
    if (front_) text += tls_metrics_text(*front_);
    r.send(200, "text/plain; version=0.0.4; charset=utf-8", text);
  };
  // The shape InfluxDB 2 answers (clients check "status":"pass"); it says the
  // process runs, /ready says whether it accepts writes.
  routes_["/health"] = [](Reply& r) {
    r.send(200, "application/json",
           "{\"name\":\"flowdb-agent\",\"message\":\"process alive; see /ready\","
           "\"status\":\"pass\",\"checks\":[]}\n");
  };
  routes_["/ready"] = [this](Reply& r) {
    std::string why;
    if (hooks_.ready(&why)) {
      r.send(200, "application/json", "{\"status\":\"ready\"}\n");
    } else {
      std::string body = "{\"status\":\"not ready\",\"reason\":";
      append_json_string(&body, why);
      r.send(503, "application/json", body + "}\n");
    }
  };
  // FlowDB's own record export (the `flowdb query` CLI); /api/v1/query and
  // /api/v1/series are the Prometheus API's (prom_api.h), added by the agent.
  routes_["/api/v1/export"] = [this](Reply& r) { serve_query(r, false); };
  routes_["/api/v1/export/series"] = [this](Reply& r) { serve_query(r, true); };
  // "/" with civetweb's prefix matching takes every path; dispatch() matches
  // them exactly.
  // Before the handler: no request reads front_ while it is set.
  if (hooks_.tls) {
    try {
      front_ = std::make_unique<TlsFront>(listen, civet_port(), *hooks_.tls);
    } catch (...) {
      close_civet();  // at once, not after civetweb's 2 s poll (the destructor does not run)
      throw;
    }
  }
  handler_ = std::make_unique<Handler>(
      [this](mg_connection* c, std::string_view method) { dispatch(c, method); });
  server_->addHandler("/", handler_.get());
}

void HttpServer::dispatch(mg_connection* c, std::string_view method) {
  const mg_request_info* ri = mg_get_request_info(c);
  Reply reply(c, method == "HEAD");
  const std::string_view path = ri->local_uri != nullptr ? ri->local_uri : "";
  auto it = routes_.find(path);
  if (it == routes_.end()) {
    if (serve_added(c, method, path, reply)) return;
    return reply.error(404, "not found: " + std::string(path));
  }
  if (method != "GET" && method != "HEAD") {
    return reply.error(405, std::string(method) + " not allowed on " + std::string(path),
                       "Allow: GET, HEAD\r\n");
  }
  if ((path == "/api/v1/export" || path == "/api/v1/export/series") && !authorized(c, reply)) {
    return;
  }
  try {
    it->second(reply);
  } catch (const std::exception& e) {
    // Once the headers are out, closing the connection early is all we can do.
    if (!reply.started()) reply.error(500, e.what());
  }
}

void HttpServer::add(HttpRoute route) {
  std::lock_guard lock(added_mu_);
  if (routes_.count(route.path) != 0 || added_.count(route.path) != 0) {
    throw std::runtime_error("http: the path " + route.path + " is already served");
  }
  const std::string path = route.path;
  auto a = std::make_shared<Added>();
  a->route = std::move(route);
  added_.emplace(path, std::move(a));
}

void HttpServer::remove(std::string_view path) {
  std::unique_lock lock(added_mu_);
  auto it = added_.find(path);
  if (it == added_.end()) return;
  std::shared_ptr<Added> a = it->second;
  added_.erase(it);
  added_cv_.wait(lock, [&] { return a->active == 0; });
}

bool HttpServer::serve_added(mg_connection* c, std::string_view method, std::string_view path,
                             Reply& reply) {
  std::shared_ptr<Added> a;
  {
    std::lock_guard lock(added_mu_);
    auto it = added_.find(path);
    if (it == added_.end()) {  // the longest prefix route, if any
      for (auto p = added_.begin(); p != added_.end(); ++p) {
        if (p->second->route.prefix && path.substr(0, p->first.size()) == p->first &&
            (it == added_.end() || p->first.size() > it->first.size())) {
          it = p;
        }
      }
    }
    if (it == added_.end()) return false;
    a = it->second;
    ++a->active;
  }
  struct Done {  // the handler returned (or threw): remove() may go on
    HttpServer* s;
    Added* a;
    ~Done() {
      std::lock_guard lock(s->added_mu_);
      --a->active;
      s->added_cv_.notify_all();
    }
  } done{this, a.get()};
  const auto& m = a->route.methods;
  const bool get = std::find(m.begin(), m.end(), "GET") != m.end();
  if (std::find(m.begin(), m.end(), method) == m.end() && !(method == "HEAD" && get)) {
    std::string allow = join(m, ", ") + (get ? ", HEAD" : "");
    reply.error(405, std::string(method) + " not allowed on " + std::string(path),
                "Allow: " + allow + "\r\n");
    return true;
  }
  if (a->route.auth && !authorized(c, reply)) return true;
  CivetRequest req(c, method);
  HttpResponse resp;
  try {
    a->route.handler(req, &resp);
  } catch (const std::exception& e) {
    reply.error(500, e.what());
    return true;
  }
  std::string headers;
  for (const auto& [k, v] : resp.headers) headers += k + ": " + v + "\r\n";
  reply.send(resp.status, resp.content_type, resp.body, headers);
  return true;
}

bool HttpServer::authorized(mg_connection* c, Reply& reply) {
  if (!auth_.enabled()) return true;
  std::optional<std::string> token;
  if (const char* h = mg_get_header(c, "Authorization")) {
    token = token_from_authorization(h);
  } else {
    token = CivetRequest(c, "").param("p");  // InfluxDB 1.x: ?u=user&p=token
  }
  if (auth_.check(token)) return true;
  // Both dialects at once: InfluxDB 2's code/message and 1.x's error.
  const std::string body =
      token ? "{\"code\":\"unauthorized\",\"message\":\"unauthorized access\","
              "\"error\":\"authorization failed\"}\n"
            : "{\"code\":\"unauthorized\",\"message\":\"no token: send Authorization: Token "
              "<token>\",\"error\":\"unable to parse authentication credentials\"}\n";
  reply.send(401, "application/json", body, "WWW-Authenticate: Basic realm=\"flowdb-agent\"\r\n");
  return false;
}

void HttpServer::serve_query(Reply& r, bool series) {
  try {
    mg_connection* c = r.conn();
    auto get = [c](std::string_view name) -> std::optional<std::string> {
      std::string v;
      if (!CivetServer::getParam(c, std::string(name).c_str(), v)) return std::nullopt;
      return v;
    };
    QueryRequest req = parse_query_request(get, now_us(), hooks_.query_max_points);
    ReplySink sink(r);
    if (series) {
      list_series(*hooks_.engine, req, sink);
    } else {
      run_query(*hooks_.engine, req, sink);
    }
    r.end();
  } catch (const QueryError& e) {
    if (!r.started()) r.error(e.status(), e.what());
  } catch (const Error& e) {
    if (!r.started()) r.error(e.code() == Errc::Closed ? 503 : 500, e.what());
  }
}

HttpServer::~HttpServer() {
  if (!server_) return;
  front_.reset();  // no more relayed connections; the relays' own are closed
  close_civet();
}

void HttpServer::close_civet() {
  // civetweb's master thread notices mg_stop only when its poll() on the
  // listening socket returns: every 2 s (SOCKET_TIMEOUT_QUANTUM) when idle,
  // which made every shutdown take ~1 s longer. A connection, closed at once,
  // wakes it; repeat until close() is done, since a poke that lands before
  // the stop flag is set is served (EOF) and the master polls again.
  const int port = civet_port();
  std::mutex mu;
  std::condition_variable cv;
  bool closed = false;
  std::thread waker([&] {
    std::unique_lock lock(mu);
    while (!cv.wait_for(lock, std::chrono::milliseconds(20), [&] { return closed; })) {
      lock.unlock();
      poke(civet_listen_, port);
      lock.lock();
    }
  });
  server_->close();
  {
    std::lock_guard lock(mu);
    closed = true;
  }
  cv.notify_all();
  waker.join();
}

int HttpServer::civet_port() const {
  std::vector<int> ports = server_->getListeningPorts();
  return ports.empty() ? 0 : ports[0];
}

int HttpServer::port() const { return front_ ? front_->port() : civet_port(); }

}  // namespace flowdb::agent

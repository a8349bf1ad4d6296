#include "agent/http_server.h"

#include <CivetServer.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "agent/ingest_context.h"
#include "agent/query_format.h"
#include "ingest/udp/udp_input.h"

namespace flowdb::agent {
namespace {

// Opens and at once closes a TCP connection to the listener `listen` on
// `port` (a wildcard address is reached through loopback).
void poke(const std::string& listen, int port) {
  sockaddr_storage ss;
  unsigned len;
  std::string err;
  if (!ingest_udp::parse_host_port(listen, &ss, &len, &err)) return;
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

class HttpServer::Handler : public CivetHandler {
 public:
  using Fn = std::function<void(CivetServer*, mg_connection*)>;
  explicit Handler(Fn fn) : fn_(std::move(fn)) {}
  bool handleGet(CivetServer* s, mg_connection* c) override {
    try {
      fn_(s, c);
    } catch (const std::exception& e) {
      send(c, 500, "application/json", json_error(e.what()));
    }
    return true;
  }
  static void send(mg_connection* c, int status, const char* type, const std::string& body) {
    mg_printf(c,
              "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
              "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
              status, mg_get_response_code_text(c, status), type, body.size());
    mg_write(c, body.data(), body.size());
  }

 private:
  Fn fn_;
};

HttpServer::HttpServer(const std::string& listen, HttpHooks hooks)
    : listen_(listen), hooks_(std::move(hooks)) {
  std::vector<std::string> opts = {"listening_ports",   listen, "num_threads", "4",
                                   "enable_keep_alive", "no"};
  try {
    server_ = std::make_unique<CivetServer>(opts);
  } catch (const CivetException& e) {
    throw std::runtime_error("http: cannot listen on " + listen + ": " + e.what());
  }
  if (server_->getContext() == nullptr)
    throw std::runtime_error("http: cannot listen on " + listen);
  using H = Handler;
  auto add = [&](const char* uri, H::Fn fn) {
    handlers_.push_back(std::make_unique<H>(std::move(fn)));
    server_->addHandler(uri, handlers_.back().get());
  };
  add("/metrics", [this](CivetServer*, mg_connection* c) {
    H::send(c, 200, "text/plain; version=0.0.4; charset=utf-8", hooks_.metrics_text());
  });
  add("/health", [](CivetServer*, mg_connection* c) {
    H::send(c, 200, "application/json", "{\"status\":\"ok\"}\n");
  });
  add("/ready", [this](CivetServer*, mg_connection* c) {
    std::string why;
    if (hooks_.ready(&why)) {
      H::send(c, 200, "application/json", "{\"status\":\"ready\"}\n");
    } else {
      std::string body = "{\"status\":\"not ready\",\"reason\":";
      append_json_string(&body, why);
      H::send(c, 503, "application/json", body + "}\n");
    }
  });
  add("/api/v1/query", [this](CivetServer*, mg_connection* c) {
    try {
      auto get = [c](std::string_view name) -> std::optional<std::string> {
        std::string v;
        if (!CivetServer::getParam(c, std::string(name).c_str(), v)) return std::nullopt;
        return v;
      };
      QueryRequest req = parse_query_request(get, now_us(), hooks_.query_max_points);
      QueryResult res = run_query(*hooks_.engine, req);
      H::send(c, 200, res.content_type.c_str(), res.body);
    } catch (const QueryError& e) {
      H::send(c, e.status(), "application/json", json_error(e.what()));
    } catch (const Error& e) {
      H::send(c, e.code() == Errc::Closed ? 503 : 500, "application/json", json_error(e.what()));
    }
  });
}

HttpServer::~HttpServer() {
  if (!server_) return;
  // civetweb's master thread notices mg_stop only when its poll() on the
  // listening socket returns: every 2 s (SOCKET_TIMEOUT_QUANTUM) when idle,
  // which made every shutdown take ~1 s longer. A connection, closed at once,
  // wakes it; repeat until close() is done, since a poke that lands before
  // the stop flag is set is served (EOF) and the master polls again.
  const int port = this->port();
  std::mutex mu;
  std::condition_variable cv;
  bool closed = false;
  std::thread waker([&] {
    std::unique_lock lock(mu);
    while (!cv.wait_for(lock, std::chrono::milliseconds(20), [&] { return closed; })) {
      lock.unlock();
      poke(listen_, port);
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

int HttpServer::port() const {
  std::vector<int> ports = server_->getListeningPorts();
  return ports.empty() ? 0 : ports[0];
}

}  // namespace flowdb::agent

#include "agent/tls_front.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string_view>
#include <system_error>

#include "agent/core/log.h"
#include "agent/core/net_address.h"

namespace flowdb::agent {
namespace {

using Clock = std::chrono::steady_clock;

// OpenSSL's queued errors as one line (and clears the queue).
std::string ssl_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown error" : out;
}

struct CtxDeleter {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
using CtxPtr = std::unique_ptr<SSL_CTX, CtxDeleter>;

// A server context for `o`, or null with the key at fault and a message.
CtxPtr make_context(const TlsFrontOptions& o, std::string* key, std::string* error) {
  ERR_clear_error();
  CtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) {
    *key = "";
    *error = "cannot create a TLS context: " + ssl_errors();
    return nullptr;
  }
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  auto fail = [&](const char* k, const std::string& file, const std::string& what) {
    *key = k;
    *error = "cannot use '" + file + "': " + what;
    return nullptr;
  };
  auto readable = [](const std::string& f) { return ::access(f.c_str(), R_OK) == 0; };
  if (!readable(o.cert_file)) {
    return fail("cert_file", o.cert_file,
                std::string(std::strerror(errno)) + "; expected a readable PEM certificate");
  }
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), o.cert_file.c_str()) != 1) {
    return fail("cert_file", o.cert_file, "not a PEM certificate (" + ssl_errors() + ")");
  }
  if (!readable(o.key_file)) {
    return fail("key_file", o.key_file,
                std::string(std::strerror(errno)) + "; expected a readable PEM private key");
  }
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), o.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
      ERR_clear_error();
      return fail("key_file", o.key_file, "does not match the certificate " + o.cert_file);
    }
    return fail("key_file", o.key_file, "not a PEM private key (" + ssl_errors() + ")");
  }
  if (SSL_CTX_check_private_key(ctx.get()) != 1) {
    return fail("key_file", o.key_file, "does not match the certificate " + o.cert_file);
  }
  if (!o.client_ca_file.empty()) {
    if (!readable(o.client_ca_file)) {
      return fail("client_ca_file", o.client_ca_file,
                  std::string(std::strerror(errno)) + "; expected a readable PEM CA file");
    }
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(o.client_ca_file.c_str());
    if (names == nullptr ||
        SSL_CTX_load_verify_locations(ctx.get(), o.client_ca_file.c_str(), nullptr) != 1) {
      if (names != nullptr) sk_X509_NAME_pop_free(names, X509_NAME_free);
      return fail("client_ca_file", o.client_ca_file,
                  "no PEM CA certificate in it (" + ssl_errors() + ")");
    }
    SSL_CTX_set_client_CA_list(ctx.get(), names);  // takes ownership
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  return ctx;
}

// What the socket must become for a failed SSL call (`rc`) to be retried:
// POLLIN or POLLOUT; 0 if it failed for good (closed, reset, TLS error).
short retry_events(SSL* ssl, int rc) {
  switch (SSL_get_error(ssl, rc)) {
    case SSL_ERROR_WANT_READ:
      return POLLIN;
    case SSL_ERROR_WANT_WRITE:
      return POLLOUT;
    default:
      return 0;
  }
}

int ms_left(Clock::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(left);
}

// Closes a file descriptor when it goes out of scope.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

std::string peer_name(const sockaddr_storage& ss) {
  char host[INET6_ADDRSTRLEN] = "?";
  if (ss.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    ::inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
    return std::string(host) + ":" + std::to_string(ntohs(a->sin_port));
  }
  const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
  ::inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
  return "[" + std::string(host) + "]:" + std::to_string(ntohs(a->sin6_port));
}

}  // namespace

bool check_tls_files(const TlsFrontOptions& o, std::string* key, std::string* error) {
  return make_context(o, key, error) != nullptr;
}

TlsFront::TlsFront(const std::string& listen, int backend_port, TlsFrontOptions options)
    : options_(std::move(options)), backend_port_(backend_port) {
  std::string key, error;
  CtxPtr ctx = make_context(options_, &key, &error);
  if (!ctx) throw std::runtime_error("http.tls." + key + ": " + error);
  sockaddr_storage ss;
  unsigned len;
  if (!parse_host_port(listen, &ss, &len, &error)) {
    throw std::runtime_error("http: cannot listen on " + listen + ": " + error);
  }
  Fd lfd{::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)};
  const int one = 1;
  if (lfd.fd < 0 || ::setsockopt(lfd.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
      ::bind(lfd.fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || ::listen(lfd.fd, 128) != 0) {
    throw std::runtime_error("http: cannot listen on " + listen + ": " + std::strerror(errno));
  }
  socklen_t slen = sizeof(ss);
  ::getsockname(lfd.fd, reinterpret_cast<sockaddr*>(&ss), &slen);
  port_ = ntohs(ss.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&ss)->sin_port
                                        : reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (stop_fd_ < 0) throw std::runtime_error(std::string("http: eventfd: ") + std::strerror(errno));
  ctx_ = ctx.release();
  listen_fd_ = lfd.fd;
  lfd.fd = -1;
  acceptor_ = std::thread([this] { accept_loop(); });
}

TlsFront::~TlsFront() {
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(stop_fd_, &one, sizeof(one));
  acceptor_.join();
  for (Conn& c : conns_) c.thread.join();
  ::close(listen_fd_);
  ::close(stop_fd_);
  SSL_CTX_free(ctx_);
}

size_t TlsFront::reap() {
  for (auto it = conns_.begin(); it != conns_.end();) {
    if (it->done.load()) {
      it->thread.join();
      it = conns_.erase(it);
    } else {
      ++it;
    }
  }
  return conns_.size();
}

void TlsFront::accept_loop() {
  pollfd p[2] = {{listen_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
  for (;;) {
    // The timeout only bounds how long finished threads wait to be joined.
    const int r = ::poll(p, 2, 1000);
    if (r < 0 && errno != EINTR) {
      log_error("http", std::string("tls: poll: ") + std::strerror(errno));
      return;
    }
    if (p[1].revents != 0) return;
    const size_t running = reap();
    if (r <= 0 || (p[0].revents & POLLIN) == 0) continue;
    sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    const int fd =
        ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
      if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
        log_warn("http", std::string("tls: accept: ") + std::strerror(errno));
        ::poll(nullptr, 0, 100);  // EMFILE and the like: do not spin
      }
      continue;
    }
    std::string peer = peer_name(ss);
    if (running >= options_.max_connections) {
      const uint64_t n = ++rejected_;
      log_warn("http", "tls: closed a connection from " + peer + ": " +
                           std::to_string(options_.max_connections) +
                           " connections (http.tls.max_connections) are open; " +
                           std::to_string(n) + " closed so far");
      ::close(fd);  // after the log line: a client seeing EOF finds it logged
      continue;
    }
    Conn& c = conns_.emplace_back();
    try {
      c.thread = std::thread([this, fd, peer, &c] {
        serve(fd, peer);
        c.done.store(true);
      });
    } catch (const std::system_error& e) {  // out of threads: refuse this one, keep serving
      conns_.pop_back();
      ::close(fd);
      ++rejected_;
      log_warn("http",
               "tls: closed a connection from " + peer + ": cannot start a thread: " + e.what());
    }
  }
}

void TlsFront::serve(int fd, std::string peer) {
  Fd client{fd};
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx_), &SSL_free);
  if (!ssl || SSL_set_fd(ssl.get(), fd) != 1) {
    log_error("http", "tls: cannot set up a connection: " + ssl_errors());
    return;
  }
  // Handshake, bounded by handshake_timeout and the stop signal.
  const Clock::time_point deadline = Clock::now() + options_.handshake_timeout;
  for (;;) {
    ERR_clear_error();
    const int rc = SSL_accept(ssl.get());
    if (rc == 1) break;
    const short events = retry_events(ssl.get(), rc);
    if (events == 0) {
      ++handshake_failures_;
      const std::string why =
          SSL_get_error(ssl.get(), rc) == SSL_ERROR_SYSCALL && ERR_peek_error() == 0
              ? std::string("connection closed by the client")
              : ssl_errors();
      log_debug("http", "tls: handshake with " + peer + " failed: " + why);
      return;
    }
    pollfd p[2] = {{fd, events, 0}, {stop_fd_, POLLIN, 0}};
    const int left = ms_left(deadline);
    const int r = left == 0 ? 0 : ::poll(p, 2, left);
    if (r < 0 && errno == EINTR) continue;
    if (p[1].revents != 0) return;
    if (r <= 0) {
      ++handshake_failures_;
      log_debug("http", "tls: handshake with " + peer + " timed out");
      return;
    }
  }

  // The plain-text side: civetweb on the internal loopback port.
  Fd backend{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(backend_port_));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (backend.fd < 0 || ::connect(backend.fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    log_error("http", "tls: cannot reach the HTTP server on 127.0.0.1:" +
                          std::to_string(backend_port_) + ": " + std::strerror(errno));
    return;
  }
  ::fcntl(backend.fd, F_SETFL, ::fcntl(backend.fd, F_GETFL) | O_NONBLOCK);
  const int one = 1;
  ::setsockopt(backend.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

  // Relay until both directions are done. `up`: decrypted client bytes not
  // yet written to the backend; `down`: backend bytes not yet sent over TLS.
  // Each round tries every step that is not blocked; poll() runs only when
  // none made progress (so bytes OpenSSL already buffered are never stranded).
  std::string up, down;
  size_t up_off = 0;
  bool client_eof = false, backend_eof = false, backend_wr_shut = false;
  Clock::time_point last_traffic = Clock::now();
  char buf[16384];
  for (;;) {
    bool progress = false;
    short client_events = 0, backend_events = 0;
    if (up_off == up.size() && !client_eof) {
      ERR_clear_error();
      const int n = SSL_read(ssl.get(), buf, sizeof(buf));
      if (n > 0) {
        up.assign(buf, static_cast<size_t>(n));
        up_off = 0;
        progress = true;
      } else if (const short e = retry_events(ssl.get(), n); e != 0) {
        client_events |= e;
      } else {
        client_eof = true;  // close_notify, a reset or a TLS error
        progress = true;
      }
    }
    if (up_off < up.size()) {
      const ssize_t n = ::send(backend.fd, up.data() + up_off, up.size() - up_off, MSG_NOSIGNAL);
      if (n > 0) {
        up_off += static_cast<size_t>(n);
        progress = true;
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        backend_events |= POLLOUT;
      } else if (n < 0 && errno != EINTR) {
        return;  // the backend is gone
      }
    } else if (client_eof && !backend_wr_shut) {
      ::shutdown(backend.fd, SHUT_WR);
      backend_wr_shut = true;
      progress = true;
    }
    if (down.empty() && !backend_eof) {
      const ssize_t n = ::recv(backend.fd, buf, sizeof(buf), 0);
      if (n > 0) {
        down.assign(buf, static_cast<size_t>(n));
        progress = true;
      } else if (n == 0) {
        backend_eof = true;
        progress = true;
      } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
        backend_events |= POLLIN;
      } else if (errno != EINTR) {
        backend_eof = true;
        progress = true;
      }
    }
    if (!down.empty()) {
      ERR_clear_error();
      const int n = SSL_write(ssl.get(), down.data(), static_cast<int>(down.size()));
      if (n > 0) {
        down.erase(0, static_cast<size_t>(n));
        progress = true;
      } else if (const short e = retry_events(ssl.get(), n); e != 0) {
        client_events |= e;
      } else {
        return;  // the client is gone
      }
    }
    if (backend_eof && down.empty()) {
      // The response is complete: a best-effort close_notify (not awaited).
      ERR_clear_error();
      SSL_shutdown(ssl.get());
      return;
    }
    if (client_eof && backend_wr_shut && backend_eof) return;
    if (progress) {
      last_traffic = Clock::now();
      continue;
    }
    // A descriptor nothing waits on is left out (-1): its POLLHUP would spin.
    pollfd p[3] = {{client_events != 0 ? fd : -1, client_events, 0},
                   {backend_events != 0 ? backend.fd : -1, backend_events, 0},
                   {stop_fd_, POLLIN, 0}};
    const int left = ms_left(last_traffic + options_.idle_timeout);
    const int r = left == 0 ? 0 : ::poll(p, 3, left);
    if (r < 0 && errno == EINTR) continue;
    if (p[2].revents != 0) return;
    if (r == 0) {
      log_debug("http", "tls: closed the idle connection from " + peer);
      return;
    }
  }
}

}  // namespace flowdb::agent

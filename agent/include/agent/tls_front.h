// TlsFront terminates TLS for the agent's HTTP listener (http.tls): it listens
// on the public address, performs the TLS handshake with OpenSSL 3 (TLS 1.2
// at least; with a client CA it requires and verifies a client certificate),
// and relays each connection's decrypted bytes, both ways, to civetweb on an
// internal 127.0.0.1 port. It is a front and not civetweb's own TLS because
// Debian's civetweb 1.15 loads OpenSSL 1.1 symbols at run time that Debian
// 12's libssl3 does not export (SSL_get_peer_certificate).
//
// One accept thread; one thread per connection, at most max_connections at
// once (further connections are closed at once, counted and logged). A
// client that does not finish its handshake within handshake_timeout, or a
// connection with no traffic either way for idle_timeout, is closed. The
// destructor stops the accept thread and every relay and joins them.
//
// Thread-safety: port() and the counters may be called from any thread;
// construction and destruction are not concurrent with other calls. The
// process must ignore SIGPIPE (flowdb-agent does): OpenSSL writes to a socket
// the client may have closed.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <thread>

struct ssl_ctx_st;

namespace flowdb::agent {

// http.tls.
struct TlsFrontOptions {
  std::string cert_file;       // PEM certificate chain of the server
  std::string key_file;        // PEM private key of cert_file
  std::string client_ca_file;  // PEM CA(s) client certificates must chain to; "" = none asked
  size_t max_connections = 64;
  std::chrono::milliseconds handshake_timeout{10000};
  std::chrono::milliseconds idle_timeout{300000};
  bool operator==(const TlsFrontOptions&) const = default;
};

// Checks that the files of `o` load into a TLS server context (readable PEM,
// a key that matches the certificate, a usable CA file). False with the
// config key at fault ("cert_file", "key_file" or "client_ca_file") in *key
// and a message naming the file in *error.
bool check_tls_files(const TlsFrontOptions& o, std::string* key, std::string* error);

class TlsFront {
 public:
  // Listens on `listen` ("host:port", "[v6]:port"; port 0 = any) and relays
  // to 127.0.0.1:`backend_port`. Throws std::runtime_error (bad files, bind).
  TlsFront(const std::string& listen, int backend_port, TlsFrontOptions options);
  ~TlsFront();
  TlsFront(const TlsFront&) = delete;
  TlsFront& operator=(const TlsFront&) = delete;

  int port() const { return port_; }
  // Connections closed because max_connections were open.
  uint64_t rejected() const { return rejected_.load(); }
  // Connections whose TLS handshake failed or timed out.
  uint64_t handshake_failures() const { return handshake_failures_.load(); }

 private:
  struct Conn {
    std::thread thread;
    std::atomic<bool> done{false};
  };
  void accept_loop();
  void serve(int fd, std::string peer);
  // Joins finished connection threads; returns how many still run.
  size_t reap();

  TlsFrontOptions options_;
  int backend_port_;
  ssl_ctx_st* ctx_ = nullptr;
  int listen_fd_ = -1;
  int stop_fd_ = -1;  // eventfd: readable once the front stops
  int port_ = 0;
  std::atomic<uint64_t> rejected_{0};
  std::atomic<uint64_t> handshake_failures_{0};
  std::list<Conn> conns_;  // accept thread only (and the destructor after it)
  std::thread acceptor_;
};

}  // namespace flowdb::agent

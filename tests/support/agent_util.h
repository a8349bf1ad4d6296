// Helpers for the agent and network tests: temp dirs, free loopback ports,
// child processes (started and stopped by pid), a tiny HTTP client, a
// throwaway PKI made with the openssl CLI, and a mosquitto broker (plain or
// TLS, optionally with a password file) on a free loopback port.
// Header-only; tests only.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "temp_dir.h"

extern char** environ;

namespace flowdb::testing {

namespace fs = std::filesystem;

inline void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}
inline std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A port the kernel just handed out for `type` (SOCK_STREAM / SOCK_DGRAM) on
// 127.0.0.1. It is free now; the caller binds it right after.
inline int free_port(int type = SOCK_STREAM) {
  int fd = ::socket(AF_INET, type, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

inline bool tcp_accepts(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  ::close(fd);
  return ok;
}

// Polls `cond` every 20 ms until true or `timeout`.
inline bool wait_until(const std::function<bool()>& cond,
                       std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return cond();
}

// A child process; killed (SIGKILL) by pid in the destructor if still running.
class Process {
 public:
  Process(std::vector<std::string> argv, const std::string& log_file,
          std::vector<std::string> extra_env = {}) {
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    std::vector<std::string> env_store;
    for (char** e = environ; *e; ++e) env_store.emplace_back(*e);
    for (auto& e : extra_env) env_store.push_back(e);
    std::vector<char*> envp;
    for (auto& e : env_store) envp.push_back(e.data());
    envp.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    int rc = posix_spawnp(&pid_, args[0], &fa, nullptr, args.data(), envp.data());
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) throw std::runtime_error("cannot spawn " + argv[0]);
  }
  ~Process() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int st;
      ::waitpid(pid_, &st, 0);
    }
  }
  pid_t pid() const { return pid_; }
  void signal(int sig) { ::kill(pid_, sig); }
  // Exit status (or 128+signal), or nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    auto end = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      int st = 0;
      pid_t r = ::waitpid(pid_, &st, WNOHANG);
      if (r == pid_) {
        pid_ = -1;
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      }
      if (std::chrono::steady_clock::now() > end) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  bool alive() { return pid_ > 0 && ::waitpid(pid_, nullptr, WNOHANG) == 0; }

 private:
  pid_t pid_ = -1;
};

struct HttpResponse {
  int status = 0;
  std::string head;  // status line and headers, "\r\n"-separated
  std::string body;
  // The value of header `name` (exact case), or "" if absent.
  std::string header(const std::string& name) const {
    const size_t p = head.find("\r\n" + name + ": ");
    if (p == std::string::npos) return "";
    const size_t v = p + name.size() + 4;
    return head.substr(v, head.find("\r\n", v) - v);
  }
};

// A TCP connection to 127.0.0.1:port with a receive timeout, or -1.
inline int tcp_connect(int port, int recv_timeout_s) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{recv_timeout_s, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// `method` http://127.0.0.1:port/path over HTTP/1.0 (the server closes the
// connection); `headers`: extra "Name: value\r\n" lines. A 30 s receive
// timeout bounds a server that never answers. status 0: no answer.
inline HttpResponse http_request(const std::string& method, int port, const std::string& path,
                                 const std::string& body = "", const std::string& headers = "") {
  HttpResponse r;
  int fd = tcp_connect(port, 30);
  if (fd < 0) return r;
  std::string req = method + " " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n";
  if (method != "GET") req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  req += headers + "\r\n" + body;
  for (size_t off = 0; off < req.size();) {
    const ssize_t n = ::write(fd, req.data() + off, req.size() - off);
    if (n <= 0) {
      ::close(fd);
      return r;
    }
    off += static_cast<size_t>(n);
  }
  std::string resp;
  char buf[65536];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof(buf))) > 0) resp.append(buf, static_cast<size_t>(n));
  ::close(fd);
  if (resp.size() > 12) r.status = std::atoi(resp.c_str() + 9);
  const size_t hdr_end = resp.find("\r\n\r\n");
  if (hdr_end != std::string::npos) {
    r.head = resp.substr(0, hdr_end + 2);
    r.body = resp.substr(hdr_end + 4);
  }
  return r;
}

inline HttpResponse http_get(int port, const std::string& path) {
  return http_request("GET", port, path);
}

inline void send_udp(int port, const std::string& payload, bool v6 = false) {
  if (v6) {
    int fd = ::socket(AF_INET6, SOCK_DGRAM, 0);
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(static_cast<uint16_t>(port));
    a.sin6_addr = in6addr_loopback;
    ::sendto(fd, payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    ::close(fd);
    return;
  }
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::sendto(fd, payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  ::close(fd);
}

// Value of an unlabelled or exactly-labelled sample in a /metrics text, or -1.
inline double metric_value(const std::string& text, const std::string& name_with_labels) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name_with_labels + " ", 0) == 0) {
      return std::atof(line.c_str() + name_with_labels.size() + 1);
    }
  }
  return -1;
}

// A loopback TCP listener that never accepts: connections complete in the
// kernel's backlog and then hear nothing (a broker that never answers).
class SilentListener {
 public:
  SilentListener() : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
        ::listen(fd_, 8) != 0 || ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      throw std::runtime_error("SilentListener: cannot listen on 127.0.0.1");
    }
    port_ = ntohs(a.sin_port);
  }
  ~SilentListener() { ::close(fd_); }
  SilentListener(const SilentListener&) = delete;
  SilentListener& operator=(const SilentListener&) = delete;
  int port() const { return port_; }
  // True once a connection waits in the backlog (within `timeout`).
  bool has_pending(std::chrono::milliseconds timeout = std::chrono::seconds(10)) const {
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, static_cast<int>(timeout.count())) == 1;
  }

 private:
  int fd_;
  int port_ = 0;
};

// Runs `argv` to completion, output appended to `log_file`. Its exit status
// (128+signal if killed), or -1 if it did not finish within `timeout`.
inline int run_command(std::vector<std::string> argv, const std::string& log_file,
                       std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  Process p(std::move(argv), log_file);
  return p.wait(timeout).value_or(-1);
}

// A flowdb-agent binary run as a child process: config in DIR/agent.yaml,
// log (stdout and stderr) in DIR/agent.log, HTTP on a free loopback port that
// the config must use (http_port()).
class AgentProcess {
 public:
  AgentProcess(std::string bin, std::string dir)
      : bin_(std::move(bin)), dir_(std::move(dir)), http_(free_port()) {}
  int http_port() const { return http_; }
  std::string config_path() const { return dir_ + "/agent.yaml"; }
  std::string log_path() const { return dir_ + "/agent.log"; }
  std::string log() const { return read_file(log_path()); }
  Process& process() { return *proc_; }

  // Writes `yaml` and starts the agent with `extra_env` (NAME=VALUE) added to
  // the environment; returns once /health answers. Throws with the log if not.
  void start(const std::string& yaml, std::vector<std::string> extra_env = {}) {
    write_file(config_path(), yaml);
    proc_ = std::make_unique<Process>(std::vector<std::string>{bin_, "--config", config_path()},
                                      log_path(), std::move(extra_env));
    if (!wait_until([&] { return http_get(http_, "/health").status == 200; })) {
      throw std::runtime_error("flowdb-agent did not come up: " + log());
    }
  }
  HttpResponse get(const std::string& path) const { return http_get(http_, path); }
  double metric(const std::string& name_with_labels) const {
    return metric_value(get("/metrics").body, name_with_labels);
  }
  // SIGTERM, then its exit status, or -1 if it did not exit within `timeout`.
  int stop(std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
    proc_->signal(SIGTERM);
    return proc_->wait(timeout).value_or(-1);
  }

 private:
  std::string bin_, dir_;
  int http_;
  std::unique_ptr<Process> proc_;
};

// A throwaway PKI in `dir`, made with the openssl CLI (EC P-256 keys, valid
// for 2 days): a CA; a server certificate signed by it for 127.0.0.1 and
// localhost (subjectAltName); a client certificate signed by it; a second CA
// that signed nothing; and a server certificate signed by the first CA for
// another host name only. Throws std::runtime_error with openssl's output.
struct TestPki {
  std::string ca, server_cert, server_key, client_cert, client_key;
  std::string other_ca;                         // trusts none of the above
  std::string other_host_cert, other_host_key;  // CN/SAN "other.example", not 127.0.0.1

  explicit TestPki(const std::string& dir) : dir_(dir) {
    ca = dir + "/ca.crt";
    other_ca = dir + "/other-ca.crt";
    make_ca("ca", "flowdb-test-ca");
    make_ca("other-ca", "flowdb-other-ca");
    sign("server", "localhost",
         "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
         "extendedKeyUsage=serverAuth\n");
    sign("client", "flowdb-agent", "extendedKeyUsage=clientAuth\n");
    sign("other-host", "other.example",
         "subjectAltName=DNS:other.example\nextendedKeyUsage=serverAuth\n");
    server_cert = dir + "/server.crt";
    server_key = dir + "/server.key";
    client_cert = dir + "/client.crt";
    client_key = dir + "/client.key";
    other_host_cert = dir + "/other-host.crt";
    other_host_key = dir + "/other-host.key";
  }

 private:
  void openssl(std::vector<std::string> args) {
    args.insert(args.begin(), "openssl");
    std::string log = dir_ + "/openssl.log";
    if (run_command(args, log) != 0) {
      throw std::runtime_error("openssl " + args[1] + " failed: " + read_file(log));
    }
  }
  std::vector<std::string> new_key_args(const std::string& name) {
    return {"-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            dir_ + "/" + name + ".key"};
  }
  void make_ca(const std::string& name, const std::string& cn) {
    std::vector<std::string> a = {"req",     "-x509",
                                  "-days",   "2",
                                  "-subj",   "/CN=" + cn,
                                  "-addext", "basicConstraints=critical,CA:TRUE",
                                  "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                                  "-out",    dir_ + "/" + name + ".crt"};
    for (auto& k : new_key_args(name)) a.push_back(k);
    openssl(a);
  }
  // A key and a certificate for `cn` signed by ca.crt, with `extensions`.
  void sign(const std::string& name, const std::string& cn, const std::string& extensions) {
    std::string base = dir_ + "/" + name;
    std::vector<std::string> a = {"req", "-subj", "/CN=" + cn, "-out", base + ".csr"};
    for (auto& k : new_key_args(name)) a.push_back(k);
    openssl(a);
    write_file(base + ".ext", "basicConstraints=CA:FALSE\n" + extensions);
    openssl({"x509", "-req", "-in", base + ".csr", "-CA", dir_ + "/ca.crt", "-CAkey",
             dir_ + "/ca.key", "-CAcreateserial", "-days", "2", "-extfile", base + ".ext", "-out",
             base + ".crt"});
  }
  std::string dir_;
};

// How a Mosquitto is set up beyond a plain anonymous TCP listener.
struct BrokerOptions {
  // A TLS listener when cert_file is set (ca_file verifies client certificates).
  std::string ca_file, cert_file, key_file;
  bool require_certificate = false;  // mutual TLS
  // password_file entries (made with mosquitto_passwd -b); when there are any,
  // anonymous clients are refused.
  std::vector<std::pair<std::string, std::string>> users;
  // No persistence and mosquitto's own queue limits (max_queued_messages
  // 1000, max_inflight_messages 20): what a new user's broker has.
  bool stock = false;
};

// A mosquitto broker on a free loopback port, with persistence in `dir`.
class Mosquitto {
 public:
  explicit Mosquitto(const std::string& dir, BrokerOptions options = {})
      : dir_(dir), options_(std::move(options)), port_(free_port()) {
    write_password_file();
    start();
  }
  void start() {
    std::string conf = dir_ + "/mosquitto.conf";
    std::string text = "listener " + std::to_string(port_) + " 127.0.0.1\n";
    if (!options_.cert_file.empty()) {
      text += "certfile " + options_.cert_file + "\nkeyfile " + options_.key_file + "\n";
      if (!options_.ca_file.empty()) text += "cafile " + options_.ca_file + "\n";
      text += std::string("require_certificate ") +
              (options_.require_certificate ? "true" : "false") + "\n";
    }
    if (options_.users.empty()) {
      text += "allow_anonymous true\n";
    } else {
      text += "allow_anonymous false\npassword_file " + dir_ + "/mosquitto.passwd\n";
    }
    // As root mosquitto drops to user mosquitto, which cannot read the
    // test's private (0700) directory: keys, passwords, persistence.
    if (::geteuid() == 0) text += "user root\n";
    if (!options_.stock) {
      text += "persistence true\npersistence_location " + dir_ +
              "/\nautosave_interval 1\n"
              "max_queued_messages 100000\nmax_inflight_messages 20\n";
    }
    write_file(conf, text);
    proc_ = std::make_unique<Process>(std::vector<std::string>{"mosquitto", "-c", conf},
                                      dir_ + "/mosquitto.log");
    if (!wait_until([&] { return tcp_accepts(port_); })) {
      throw std::runtime_error("mosquitto did not start: " + read_file(dir_ + "/mosquitto.log"));
    }
  }
  // SIGTERM (mosquitto saves its persistence file), wait.
  void stop() {
    if (!proc_) return;
    proc_->signal(SIGTERM);
    proc_->wait(std::chrono::seconds(10));
    proc_.reset();
  }
  ~Mosquitto() { stop(); }
  int port() const { return port_; }
  std::string uri() const {
    return (options_.cert_file.empty() ? "tcp://127.0.0.1:" : "ssl://127.0.0.1:") +
           std::to_string(port_);
  }

 private:
  void write_password_file() {
    bool first = true;
    for (const auto& [user, password] : options_.users) {
      std::vector<std::string> argv = {"mosquitto_passwd", "-b"};
      if (first) argv.push_back("-c");
      argv.insert(argv.end(), {dir_ + "/mosquitto.passwd", user, password});
      if (run_command(argv, dir_ + "/mosquitto_passwd.log") != 0) {
        throw std::runtime_error("mosquitto_passwd failed: " +
                                 read_file(dir_ + "/mosquitto_passwd.log"));
      }
      first = false;
    }
  }

  std::string dir_;
  BrokerOptions options_;
  int port_;
  std::unique_ptr<Process> proc_;
};

}  // namespace flowdb::testing

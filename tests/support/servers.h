// Real upstream servers for the export tests, each started by the test on a
// free 127.0.0.1 port with its data in a directory the test owns, and stopped
// by pid:
//
//   Influxd          InfluxDB 1.x (/usr/bin/influxd): /write, /query
//   VictoriaMetrics  /usr/bin/victoria-metrics: /write, /api/v2/write,
//                    /api/v1/write (remote write), /api/v1/export
//   Prometheus       /usr/bin/prometheus with the remote-write receiver
//   StubHttpServer   an in-process HTTP server that answers every request
//                    with a canned response (429/503 + Retry-After, ...)
//
// Each real server is started by its constructor (throws std::runtime_error
// with the server's log if it does not get ready) and has
//   stop()   SIGTERM, wait (SIGKILL after 10 s); data is flushed
//   kill()   SIGKILL (a crash); on-disk state as the server left it
//   start()  start again on the SAME port and data directory
//   port(), url() ("http://127.0.0.1:PORT"), log() (its output so far)
// and query helpers (raw JSON text of the server's answer; VictoriaMetrics
// also parsed). Destruction stops a running server (SIGKILL).
//
// Also: http_post() (plain-socket HTTP/1.0 client to 127.0.0.1),
// make_self_signed_cert() (openssl CLI), and for sink tests make_sample(),
// recent_ts_us(), sink_from_yaml() and config_error_of().
//
// Header-only; tests only; link Boost::json (export_series) and yaml-cpp.
// Thread-safety: an object is used by one thread, except StubHttpServer,
// whose getters may be called while it serves.
#pragma once

#include <poll.h>
#include <yaml-cpp/yaml.h>

#include <atomic>
#include <boost/json.hpp>
#include <cctype>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "agent_util.h"
#include "agent/core/config_schema.h"
#include "export/core/sink.h"

namespace flowdb::testing {

// One exporter sample.
inline exporter::Sample make_sample(std::string measurement, std::vector<ingest::Tag> tags,
                                    std::string field, ingest::FieldValue value, int64_t ts_us) {
  return exporter::Sample{
      {std::move(measurement), std::move(tags), std::move(field)}, std::move(value), ts_us};
}

// A minute ago, in microseconds, rounded down to a whole millisecond: servers
// reject timestamps far from now (VictoriaMetrics' retention, Prometheus' head)
// and keep milliseconds.
inline int64_t recent_ts_us() {
  using namespace std::chrono;
  const auto now = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  return (now - 60'000) * 1000;
}

// A sink built by `make` (e.g. make_influx_http_sink) from the YAML mapping
// `yaml`, validated against `keys` first. Throws agent::ConfigError.
template <class Make>
std::unique_ptr<exporter::Sink> sink_from_yaml(std::span<const agent::KeySpec> keys, Make make,
                                               const std::string& yaml) {
  const auto table = agent::parse_table(YAML::Load(yaml), keys, "t.yaml", "exports[0]");
  return make(*table);
}

// The agent::ConfigError message sink_from_yaml() throws, or "accepted".
template <class Make>
std::string config_error_of(std::span<const agent::KeySpec> keys, Make make,
                            const std::string& yaml) {
  try {
    sink_from_yaml(keys, make, yaml);
  } catch (const agent::ConfigError& e) {
    return e.what();
  }
  return "accepted";
}

// Percent-encodes a URL query value.
inline std::string url_encode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", c);
      out += hex;
    }
  }
  return out;
}

inline HttpResponse http_post(int port, const std::string& path, const std::string& body,
                              const std::string& headers = "") {
  return http_request("POST", port, path, body, headers);
}

// Writes a self-signed EC certificate for 127.0.0.1 / localhost to
// dir/NAME.crt and its key to dir/NAME.key (valid 2 days). Returns {cert, key}.
// Throws std::runtime_error with openssl's output on failure.
inline std::pair<std::string, std::string> make_self_signed_cert(const std::string& dir,
                                                                 const std::string& name) {
  const std::string cert = dir + "/" + name + ".crt", key = dir + "/" + name + ".key";
  const std::string log = dir + "/openssl.log";
  Process p({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
             "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"},
            log);
  if (p.wait(std::chrono::seconds(30)) != 0) {
    throw std::runtime_error("openssl req failed: " + read_file(log));
  }
  return {cert, key};
}

// What the real servers share: one child process on a fixed port and data
// directory, readiness by polling, stop/kill by pid.
class ServerProcess {
 public:
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;
  virtual ~ServerProcess() = default;  // proc_'s destructor SIGKILLs a running child

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  const std::string& dir() const { return dir_; }
  std::string log() const { return read_file(dir_ + "/server.log"); }
  bool running() const { return proc_ != nullptr; }
  pid_t pid() const { return proc_ ? proc_->pid() : -1; }

  // Starts the server (again) on the same port and data directory; waits until
  // it is ready (up to 60 s). Throws std::runtime_error with the log if not.
  void start() {
    if (proc_) return;
    std::filesystem::create_directories(dir_);
    proc_ = std::make_unique<Process>(argv(), dir_ + "/server.log");
    if (!wait_until([&] { return !proc_->alive() || ready(); }, std::chrono::seconds(60)) ||
        !proc_->alive()) {
      proc_.reset();
      throw std::runtime_error(name_ + " did not start: " + log());
    }
  }
  // SIGTERM and wait for the exit (SIGKILL after 10 s).
  void stop() {
    if (!proc_) return;
    proc_->signal(SIGTERM);
    proc_->wait(std::chrono::seconds(10));
    proc_.reset();  // SIGKILLs it if it is still running
  }
  // SIGKILL: a crash, without the server's shutdown.
  void kill() { proc_.reset(); }

 protected:
  ServerProcess(std::string name, std::string dir)
      : name_(std::move(name)), dir_(std::move(dir)), port_(free_port()) {}
  // The command line; called by each start().
  virtual std::vector<std::string> argv() = 0;
  // Whether the server answers (polled every 20 ms while starting).
  virtual bool ready() = 0;

 private:
  std::string name_;
  std::string dir_;
  int port_;
  std::unique_ptr<Process> proc_;
};

// InfluxDB 1.x with its meta, data and WAL dirs under `dir`, reporting and
// the _internal monitor store off.
class Influxd : public ServerProcess {
 public:
  // With a non-empty admin user, authentication is enabled and that user
  // (with all privileges) is created on first start; query() then uses it.
  explicit Influxd(const std::string& dir, std::string admin_user = "",
                   std::string admin_password = "")
      : ServerProcess("influxd", dir),
        user_(std::move(admin_user)),
        password_(std::move(admin_password)),
        rpc_port_(free_port()) {
    start();
    if (!user_.empty()) {
      const HttpResponse r =
          http_post(port(),
                    "/query?q=" + url_encode("CREATE USER \"" + user_ + "\" WITH PASSWORD '" +
                                             password_ + "' WITH ALL PRIVILEGES"),
                    "");
      if (r.status != 200) throw std::runtime_error("influxd: CREATE USER: " + r.body);
    }
  }

  // POST /query?q=... (epoch=u: timestamps in microseconds). The JSON answer.
  HttpResponse query(const std::string& q, const std::string& db = "") {
    std::string path = "/query?epoch=u&q=" + url_encode(q);
    if (!db.empty()) path += "&db=" + url_encode(db);
    if (!user_.empty()) path += "&u=" + url_encode(user_) + "&p=" + url_encode(password_);
    return http_post(port(), path, "");
  }
  void create_database(const std::string& db) {
    const HttpResponse r = query("CREATE DATABASE \"" + db + "\"");
    if (r.status != 200) throw std::runtime_error("influxd: CREATE DATABASE: " + r.body);
  }
  // SELECT * FROM "measurement" (JSON, timestamps in microseconds).
  std::string select_all(const std::string& db, const std::string& measurement) {
    return query("SELECT * FROM \"" + measurement + "\"", db).body;
  }

 private:
  std::vector<std::string> argv() override {
    const std::string d = dir();
    write_file(d + "/influxdb.conf",
               "reporting-disabled = true\n"
               "bind-address = \"127.0.0.1:" +
                   std::to_string(rpc_port_) +
                   "\"\n"
                   "[meta]\n  dir = \"" +
                   d +
                   "/meta\"\n"
                   "[data]\n  dir = \"" +
                   d + "/data\"\n  wal-dir = \"" + d +
                   "/wal\"\n"
                   "  query-log-enabled = false\n"
                   "[monitor]\n  store-enabled = false\n"
                   "[http]\n  bind-address = \"127.0.0.1:" +
                   std::to_string(port()) +
                   "\"\n"
                   "  log-enabled = false\n"
                   "  auth-enabled = " +
                   (user_.empty() ? "false" : "true") + "\n");
    return {"influxd", "-config", d + "/influxdb.conf"};
  }
  bool ready() override { return http_get(port(), "/ping").status == 204; }

  std::string user_, password_;
  int rpc_port_;
};

// VictoriaMetrics (single node) storing in dir/data.
class VictoriaMetrics : public ServerProcess {
 public:
  // With cert_file/key_file it serves HTTPS only (-tls); readiness is then
  // "accepts TCP", and export_json() is unavailable.
  explicit VictoriaMetrics(const std::string& dir, std::string cert_file = "",
                           std::string key_file = "")
      : ServerProcess("victoria-metrics", dir),
        cert_(std::move(cert_file)),
        key_(std::move(key_file)) {
    start();
  }

  std::string https_url() const { return "https://127.0.0.1:" + std::to_string(port()); }

  // Flushes pending samples (/internal/force_flush), then GET /api/v1/export
  // with match[]=`selector`: one JSON object per series and line,
  // {"metric":{"__name__":...,labels},"values":[...],"timestamps":[ms...]}.
  std::string export_json(const std::string& selector) {
    http_get(port(), "/internal/force_flush");
    return http_get(port(), "/api/v1/export?match[]=" + url_encode(selector)).body;
  }

  using Points = std::vector<std::pair<int64_t, double>>;  // (ms, value)
  // export_json(selector) parsed: "NAME{k=v,k=v}" (labels sorted, no
  // quoting) -> its points in time order.
  std::map<std::string, Points> export_series(const std::string& selector) {
    namespace json = boost::json;
    const std::string text = export_json(selector);
    std::map<std::string, Points> out;
    size_t end = 0;
    for (size_t start = 0; start < text.size(); start = end + 1) {
      end = std::min(text.find('\n', start), text.size());
      if (end == start) continue;
      const json::value line = json::parse(std::string_view(text).substr(start, end - start));
      std::map<std::string, std::string> labels;
      for (const auto& [k, v] : line.at("metric").as_object()) {
        labels[std::string(k)] = json::value_to<std::string>(v);
      }
      std::string key = labels["__name__"] + "{";
      labels.erase("__name__");
      for (const auto& [k, v] : labels) key += (key.back() == '{' ? "" : ",") + k + "=" + v;
      Points& points = out[key + "}"];
      const json::array& ts = line.at("timestamps").as_array();
      const json::array& values = line.at("values").as_array();
      for (size_t i = 0; i < ts.size() && i < values.size(); ++i) {
        points.emplace_back(ts[i].to_number<int64_t>(), values[i].to_number<double>());
      }
    }
    return out;
  }

 private:
  std::vector<std::string> argv() override {
    std::vector<std::string> a = {"victoria-metrics", "-storageDataPath=" + dir() + "/data",
                                  "-httpListenAddr=127.0.0.1:" + std::to_string(port()),
                                  "-loggerLevel=WARN"};
    if (!cert_.empty()) {
      a.insert(a.end(), {"-tls", "-tlsCertFile=" + cert_, "-tlsKeyFile=" + key_});
    }
    return a;
  }
  bool ready() override {
    return cert_.empty() ? http_get(port(), "/health").status == 200 : tcp_accepts(port());
  }

  std::string cert_, key_;
};

// Prometheus with the remote-write receiver (/api/v1/write), no scrape jobs,
// its TSDB in dir/data.
class Prometheus : public ServerProcess {
 public:
  explicit Prometheus(const std::string& dir) : ServerProcess("prometheus", dir) { start(); }

  std::string remote_write_url() const { return url() + "/api/v1/write"; }

  // GET /api/v1/query?query=PROMQL (instant query at now). Use a range
  // selector (`name[1h]`) to get every stored sample with its timestamp:
  // {"data":{"resultType":"matrix","result":[{"metric":{...},
  //  "values":[[<unix seconds, ms precision>,"<value>"],...]}]}}.
  std::string query(const std::string& promql) {
    return http_get(port(), "/api/v1/query?query=" + url_encode(promql)).body;
  }

 private:
  std::vector<std::string> argv() override {
    write_file(dir() + "/prometheus.yml", "global:\n  scrape_interval: 1h\n");
    return {"prometheus",
            "--config.file=" + dir() + "/prometheus.yml",
            "--storage.tsdb.path=" + dir() + "/data",
            "--web.listen-address=127.0.0.1:" + std::to_string(port()),
            "--web.enable-remote-write-receiver",
            "--log.level=warn"};
  }
  bool ready() override { return http_get(port(), "/-/ready").status == 200; }
};

// An HTTP server in a thread of the test process, on a 127.0.0.1 port of its
// own (bound before the constructor returns, so there is no port race).
// Reads each request (headers + Content-Length body), answers with the
// canned response, closes the connection. Stopped by the destructor.
class StubHttpServer {
 public:
  StubHttpServer() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
        ::listen(listen_fd_, 16) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      ::close(listen_fd_);
      throw std::runtime_error("StubHttpServer: cannot listen");
    }
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~StubHttpServer() {
    stop_ = true;
    thread_.join();
    ::close(listen_fd_);
  }
  StubHttpServer(const StubHttpServer&) = delete;
  StubHttpServer& operator=(const StubHttpServer&) = delete;

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // Later requests get "HTTP/1.1 STATUS X", `headers` ("Name: value\r\n"
  // lines) and `body`, `delay` after the request arrived (for timeouts).
  void respond_with(int status, const std::string& headers, const std::string& body,
                    std::chrono::milliseconds delay = {}) {
    std::lock_guard<std::mutex> l(mu_);
    delay_ = delay;
    response_ = "HTTP/1.1 " + std::to_string(status) + " X\r\n" + headers +
                "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
                body;
  }
  // Requests answered so far, and the last one (headers and body as received).
  int requests() const { return requests_; }
  std::string last_request() const {
    std::lock_guard<std::mutex> l(mu_);
    return last_request_;
  }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      const int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) continue;
      timeval tv{5, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      std::string req = read_request(fd);
      std::string resp;
      std::chrono::milliseconds delay;
      {
        std::lock_guard<std::mutex> l(mu_);
        last_request_ = std::move(req);
        resp = response_;
        delay = delay_;
      }
      ++requests_;
      const auto until = std::chrono::steady_clock::now() + delay;
      while (!stop_ && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));  // a stalled server
      }
      (void)!::write(fd, resp.data(), resp.size());
      ::close(fd);
    }
  }
  static std::string read_request(int fd) {
    std::string req;
    char buf[65536];
    size_t need = std::string::npos;  // total bytes, once the headers are in
    while (req.size() < need) {
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) break;
      req.append(buf, static_cast<size_t>(n));
      const size_t end = req.find("\r\n\r\n");
      if (need == std::string::npos && end != std::string::npos) {
        size_t length = 0;
        for (const char* h : {"Content-Length:", "content-length:"}) {
          const size_t at = req.find(h);
          if (at != std::string::npos && at < end) length = std::atol(req.c_str() + at + 15);
        }
        need = end + 4 + length;
      }
    }
    return req;
  }

  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  mutable std::mutex mu_;
  std::string response_ = "HTTP/1.1 204 X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
  std::chrono::milliseconds delay_{0};
  std::string last_request_;
  std::thread thread_;
};

}  // namespace flowdb::testing

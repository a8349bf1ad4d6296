// flowdb-agent as a process with http.tls: curl as the client, verifying the
// agent's certificate (a CA and certificates made with the openssl CLI at test
// time, tests/support TestPki). Covers a write and a read back over TLS,
// /metrics and /health through the TLS front, a 1 MB write and a chunked query
// through it, TLS 1.2 served and 1.1 refused, curl without the CA (exit 60),
// mutual TLS with http.tls.client_ca_file, plain HTTP on the TLS port, the
// handshake timeout, max_connections, a SIGHUP that changes http.tls, a clean
// stop with a silent client connected, and the config errors for bad
// certificate, key and CA files.
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>

#include "agent_util.h"

using namespace flowdb::testing;
using Catch::Matchers::Contains;

namespace {

// One PKI for the whole run (key generation is the slow part).
const TestPki& pki() {
  static TempDir dir;
  static TestPki p(dir.path());
  return p;
}

struct CurlResult {
  int exit = -1;   // curl's exit status (60: certificate not verified)
  int status = 0;  // HTTP status, 0 if none
  std::string body;
};

// flowdb-agent with an http input, token `tok` and http.tls on a free port.
struct TlsAgent {
  TempDir dir;
  int port = free_port();
  std::unique_ptr<Process> proc;

  std::string config_path() const { return dir / "agent.yaml"; }
  std::string log() const { return read_file(dir / "agent.log"); }

  // Starts the agent with `tls_keys` (lines "    key: value\n") under http.tls;
  // returns once /health answers over TLS.
  void start(const std::string& tls_keys) {
    write_file(dir / "tokens", "tok\n");
    write_file(config_path(),
               "storage:\n  data_dir: " + (dir / "data") +
                   "\n  batch_window: 2ms\nhttp:\n  listen: 127.0.0.1:" + std::to_string(port) +
                   "\n  auth:\n    token_file: " + (dir / "tokens") + "\n  tls:\n" + tls_keys +
                   "inputs:\n  udp: []\n  mqtt: []\n  http:\n    - name: influx\nlog:\n  level: "
                   "debug\n");
    proc = std::make_unique<Process>(
        std::vector<std::string>{FLOWDB_AGENT_BIN, "--config", config_path()}, dir / "agent.log");
    const bool up = wait_until([&] {
      return curl({"--cacert", pki().ca, "--cert", pki().client_cert, "--key", pki().client_key},
                  "/health")
                 .status == 200;
    });
    if (!up) throw std::runtime_error("flowdb-agent did not come up over TLS: " + log());
  }
  std::string server_keys() const {
    return "    cert_file: " + pki().server_cert + "\n    key_file: " + pki().server_key + "\n";
  }

  // curl `opts` https://127.0.0.1:port`path`; `post_file`: POST it as the body.
  CurlResult curl(std::vector<std::string> opts, const std::string& path,
                  const std::string& post_file = "", const std::string& scheme = "https") {
    const std::string out = dir / "curl.out", code = dir / "curl.code", err = dir / "curl.err";
    std::filesystem::remove(out);
    std::filesystem::remove(code);
    std::vector<std::string> argv = {"curl", "-sS", "--max-time", "10",
                                     "-o",   out,   "-w",         "%{http_code}"};
    argv.insert(argv.end(), opts.begin(), opts.end());
    if (!post_file.empty()) argv.insert(argv.end(), {"-XPOST", "--data-binary", "@" + post_file});
    argv.push_back(scheme + "://127.0.0.1:" + std::to_string(port) + path);
    CurlResult r;
    // -w writes the code (000 without an answer) to stdout; curl's error
    // message on stderr lands in the same file and stops atoi.
    r.exit = run_command(argv, code);
    r.status = std::atoi(read_file(code).c_str());
    r.body = read_file(out);
    return r;
  }
  CurlResult curl_ca(const std::string& path, std::vector<std::string> more = {}) {
    more.insert(more.begin(), {"--cacert", pki().ca});
    return curl(more, path);
  }
  double metric(const std::string& name, std::vector<std::string> more = {}) {
    return metric_value(curl_ca("/metrics", std::move(more)).body, name);
  }
  // SIGTERM; the exit status, or -1 if it did not exit within `timeout`.
  int stop(std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
    proc->signal(SIGTERM);
    return proc->wait(timeout).value_or(-1);
  }
};

// Runs flowdb-agent --check-config on `yaml`; its exit status, output in *out.
int check_config(const TempDir& dir, const std::string& yaml, std::string* out) {
  const std::string cfg = dir / "check.yaml", log = dir / "check.log";
  write_file(cfg, yaml);
  std::filesystem::remove(log);
  const int rc = run_command({FLOWDB_AGENT_BIN, "--config", cfg, "--check-config"}, log);
  *out = read_file(log);
  return rc;
}

}  // namespace

TEST_CASE("curl verifying the agent's certificate writes and reads back over TLS",
          "[http][tls][process]") {
  TlsAgent a;
  a.start(a.server_keys());
  CHECK_THAT(a.log(), Contains("listening on 127.0.0.1:" + std::to_string(a.port) + " (port " +
                               std::to_string(a.port) + ", TLS)"));
  const std::string lp = a.dir / "body.lp";
  write_file(lp, "tls,via=curl v=1.5 1700000000\ntls,via=curl v=2.5 1700000001\n");
  CurlResult w = a.curl({"--cacert", pki().ca, "-H", "Authorization: Token tok"},
                        "/api/v2/write?precision=s", lp);
  CHECK(w.exit == 0);
  CHECK(w.status == 204);
  CurlResult q =
      a.curl_ca("/api/v1/export?series=tls&format=lp", {"-H", "Authorization: Token tok"});
  CHECK(q.exit == 0);
  CHECK(q.status == 200);
  CHECK(q.body ==
        "tls,via=curl v=1.5 1700000000000000000\ntls,via=curl v=2.5 1700000001000000000\n");
  // The token is still required behind the front.
  CHECK(a.curl_ca("/api/v1/export?series=tls").status == 401);

  CurlResult h = a.curl_ca("/health");
  CHECK(h.status == 200);
  CHECK_THAT(h.body, Contains("\"status\":\"pass\""));
  CHECK(a.metric("flowdb_input_points_received_total{input=\"influx\"}") == 2);
  CHECK(a.metric("flowdb_http_tls_connections_rejected_total") == 0);

  // TLS 1.2 is served as well as 1.3.
  CurlResult tls12 = a.curl_ca("/health", {"--tls-max", "1.2"});
  CHECK(tls12.exit == 0);
  CHECK(tls12.status == 200);

  // TLS 1.1 is refused by the agent (the client forced to offer it, which
  // Debian's default security level would not).
  const std::string s_client = a.dir / "s_client.log";
  CHECK(run_command({"sh", "-c",
                     "openssl s_client -connect 127.0.0.1:" + std::to_string(a.port) +
                         " -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' </dev/null"},
                    s_client) != 0);
  CHECK_THAT(read_file(s_client), Contains("alert protocol version"));

  // Without the CA curl cannot verify the certificate: exit 60, no answer.
  CurlResult untrusted = a.curl({}, "/health");
  CHECK(untrusted.exit == 60);
  CHECK(untrusted.status == 0);
  CHECK(a.metric("flowdb_http_tls_handshake_failures_total") >= 1);

  // Plain HTTP to the TLS port gets no HTTP answer.
  HttpResponse plain = http_get(a.port, "/health");
  CHECK(plain.status == 0);
  CHECK(plain.head.empty());
  CurlResult plain_curl = a.curl({}, "/health", "", "http");
  CHECK(plain_curl.exit != 0);
  CHECK(plain_curl.status == 0);

  // The CLI's hint for a held data directory names the https URL.
  const std::string cli_log = a.dir / "cli.log";
  CHECK(run_command(
            {FLOWDB_CLI_BIN, "--config", a.config_path(), "query", "--data-dir", a.dir / "data"},
            cli_log) == 1);
  CHECK_THAT(read_file(cli_log),
             Contains("curl 'https://127.0.0.1:" + std::to_string(a.port) + "/api/v1/export?"));

  // A silent client (TCP connected, no handshake) does not delay the stop.
  const int silent = tcp_connect(a.port, 5);
  REQUIRE(silent >= 0);
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(a.stop() == 0);
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
  ::close(silent);
}

TEST_CASE("a 1 MB write and a chunked query result pass the TLS front byte for byte",
          "[http][tls][process]") {
  TlsAgent a;
  a.start(a.server_keys());
  constexpr int kPoints = 40000;
  std::string body, expected;
  for (int i = 0; i < kPoints; ++i) {
    const std::string line =
        "big,k=front v=" + std::to_string(i) + "i " + std::to_string(1700000000 + i);
    body += line + "\n";
    expected += line + "000000000\n";
  }
  REQUIRE(body.size() > 1000000);
  const std::string lp = a.dir / "big.lp";
  write_file(lp, body);
  CurlResult w = a.curl({"--cacert", pki().ca, "-H", "Authorization: Token tok"},
                        "/api/v2/write?precision=s", lp);
  CHECK(w.exit == 0);
  CHECK(w.status == 204);
  // Larger than 64 KiB: streamed chunked (HTTP/1.1) through the relay.
  CurlResult q = a.curl_ca("/api/v1/export?series=big&format=lp&limit=100000",
                           {"-H", "Authorization: Token tok"});
  CHECK(q.exit == 0);
  CHECK(q.status == 200);
  CHECK(q.body.size() == expected.size());
  CHECK(q.body == expected);
  CHECK(a.stop() == 0);
}

TEST_CASE("with http.tls.client_ca_file only clients with a certificate of that CA are served",
          "[http][tls][process]") {
  TlsAgent a;
  a.start(a.server_keys() + "    client_ca_file: " + pki().ca + "\n");
  CurlResult no_cert = a.curl_ca("/health");
  CHECK(no_cert.exit != 0);
  CHECK(no_cert.status == 0);
  const std::string lp = a.dir / "body.lp";
  write_file(lp, "mtls v=7i 1700000000\n");
  CurlResult with_cert = a.curl({"--cacert", pki().ca, "--cert", pki().client_cert, "--key",
                                 pki().client_key, "-H", "Authorization: Token tok"},
                                "/api/v2/write?precision=s", lp);
  CHECK(with_cert.exit == 0);
  CHECK(with_cert.status == 204);
  CurlResult q = a.curl({"--cacert", pki().ca, "--cert", pki().client_cert, "--key",
                         pki().client_key, "-H", "Authorization: Token tok"},
                        "/api/v1/export?series=mtls&format=lp");
  CHECK(q.status == 200);
  CHECK(q.body == "mtls v=7i 1700000000000000000\n");
  CHECK(a.stop() == 0);
}

TEST_CASE("a client that does not finish its TLS handshake is closed after handshake_timeout",
          "[http][tls][process]") {
  TlsAgent a;
  a.start(a.server_keys() + "    handshake_timeout: 300ms\n");
  const int fd = tcp_connect(a.port, 10);
  REQUIRE(fd >= 0);
  const auto t0 = std::chrono::steady_clock::now();
  char c;
  const ssize_t n = ::read(fd, &c, 1);  // EOF once the agent gives up
  const auto waited = std::chrono::steady_clock::now() - t0;
  ::close(fd);
  CHECK(n == 0);
  CHECK(waited >= std::chrono::milliseconds(200));
  CHECK(waited < std::chrono::seconds(5));
  CHECK_THAT(a.log(), Contains("tls: handshake with 127.0.0.1:"));
  CHECK_THAT(a.log(), Contains(" timed out"));
  CHECK(a.curl_ca("/health").status == 200);

  // A SIGHUP with another http.tls keeps the running front and says so.
  std::string cfg = read_file(a.config_path());
  const std::string from = "handshake_timeout: 300ms", to = "handshake_timeout: 2s";
  cfg.replace(cfg.find(from), from.size(), to);
  write_file(a.config_path(), cfg);
  a.proc->signal(SIGHUP);
  CHECK(wait_until([&] {
    return a.log().find("reload: http.tls changes take effect only after a restart") !=
           std::string::npos;
  }));
  CHECK(a.curl_ca("/health").status == 200);
  CHECK(a.stop() == 0);
}

TEST_CASE("connections beyond http.tls.max_connections are closed, counted and logged",
          "[http][tls][process]") {
  TlsAgent a;
  a.start(a.server_keys() + "    max_connections: 2\n");
  // Two silent clients hold both slots (their handshake timeout is 10 s).
  const int s1 = tcp_connect(a.port, 5), s2 = tcp_connect(a.port, 5);
  REQUIRE(s1 >= 0);
  REQUIRE(s2 >= 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // both accepted
  const int third = tcp_connect(a.port, 5);
  REQUIRE(third >= 0);
  char c;
  CHECK(::read(third, &c, 1) == 0);  // closed at once, well before 5 s
  ::close(third);
  CHECK_THAT(a.log(),
             Contains("2 connections (http.tls.max_connections) are open; 1 closed so far"));
  ::close(s1);
  ::close(s2);
  // The slots are free again once the silent clients are gone.
  CHECK(wait_until([&] { return a.curl_ca("/health").status == 200; }));
  CHECK(a.metric("flowdb_http_tls_connections_rejected_total") == 1);
  CHECK(a.stop() == 0);
}

TEST_CASE("bad http.tls files are config errors naming the key and the file",
          "[http][tls][config]") {
  TempDir dir;
  const std::string head = "storage:\n  data_dir: " + (dir / "data") + "\nhttp:\n  tls:\n";
  std::string out;

  const std::string missing = dir / "no-such.crt";
  CHECK(check_config(
            dir, head + "    cert_file: " + missing + "\n    key_file: " + pki().server_key + "\n",
            &out) == 2);
  CHECK_THAT(out, Contains("ERROR config: " + (dir / "check.yaml") +
                           ":5:16: http.tls.cert_file: "
                           "cannot use '" +
                           missing + "': No such file or directory"));

  CHECK(check_config(dir, head + "    cert_file: " + pki().server_cert + "\n", &out) == 2);
  CHECK_THAT(out, Contains("http.tls.key_file: missing; expected the path of a PEM file"));

  // A key that is not the certificate's.
  CHECK(check_config(dir,
                     head + "    cert_file: " + pki().server_cert +
                         "\n    key_file: " + pki().client_key + "\n",
                     &out) == 2);
  CHECK_THAT(out, Contains("http.tls.key_file: cannot use '" + pki().client_key +
                           "': does not match the certificate " + pki().server_cert));

  // Not PEM at all.
  const std::string junk = dir / "junk.pem";
  write_file(junk, "not a certificate\n");
  CHECK(check_config(dir,
                     head + "    cert_file: " + pki().server_cert + "\n    key_file: " +
                         pki().server_key + "\n    client_ca_file: " + junk + "\n",
                     &out) == 2);
  CHECK_THAT(out, Contains("http.tls.client_ca_file: cannot use '" + junk + "'"));

  // Started without --check-config the agent refuses the same way, no crash.
  const std::string cfg = dir / "run.yaml", log = dir / "run.log";
  write_file(cfg,
             head + "    cert_file: " + missing + "\n    key_file: " + pki().server_key + "\n");
  CHECK(run_command({FLOWDB_AGENT_BIN, "--config", cfg}, log) == 2);
  CHECK_THAT(read_file(log), Contains("http.tls.cert_file: cannot use '" + missing + "'"));

  CHECK(check_config(dir,
                     head + "    cert_file: " + pki().server_cert +
                         "\n    key_file: " + pki().server_key + "\n",
                     &out) == 0);
}

TEST_CASE("a TLS listen address already in use stops the start at once with exit 1",
          "[http][tls][process]") {
  TempDir dir;
  SilentListener taken;  // holds the port
  const std::string cfg = dir / "agent.yaml", log = dir / "agent.log";
  write_file(cfg, "storage:\n  data_dir: " + (dir / "data") +
                      "\nhttp:\n  listen: 127.0.0.1:" + std::to_string(taken.port()) +
                      "\n  tls:\n    cert_file: " + pki().server_cert +
                      "\n    key_file: " + pki().server_key + "\ninputs:\n  udp: []\n  mqtt: []\n");
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(run_command({FLOWDB_AGENT_BIN, "--config", cfg}, log) == 1);
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(1500));
  CHECK_THAT(read_file(log), Contains("cannot start: http: cannot listen on 127.0.0.1:" +
                                      std::to_string(taken.port()) + ": Address already in use"));
}

// flowdb-agent under a notify-aware service manager: the test plays systemd's
// side of the sd_notify(3) protocol on a datagram socket ($NOTIFY_SOCKET) and
// checks READY=1 after startup, WATCHDOG=1 keep-alives when WATCHDOG_USEC is
// set, RELOADING=1 then READY=1 on SIGHUP, and STOPPING=1 on SIGTERM.
#include <sys/socket.h>
#include <sys/un.h>

#include <catch2/catch.hpp>

#include "agent_util.h"

using namespace flowdb::testing;

namespace {

// The service manager's end: a bound AF_UNIX datagram socket.
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    REQUIRE(path.size() < sizeof(a.sun_path));
    std::copy(path.begin(), path.end(), a.sun_path);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
  }
  ~NotifySocket() { ::close(fd_); }
  // Collects datagrams until one contains `needle` or `timeout` passes.
  bool await(const std::string& needle,
             std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    auto end = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (received_.find(needle) != std::string::npos) {
        received_.erase(0, received_.find(needle) + needle.size());
        return true;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          end - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[4096];
      ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n > 0) received_.append(buf, static_cast<size_t>(n)).push_back('\n');
    }
  }

 private:
  std::string path_;
  int fd_ = -1;
  std::string received_;
};

}  // namespace

TEST_CASE("the agent notifies readiness, watchdog keep-alives, reload and stop",
          "[agent][systemd][integration]") {
  TempDir dir;
  NotifySocket sock(dir / "notify");
  AgentProcess agent(FLOWDB_AGENT_BIN, dir.path());
  const int udp = free_port(SOCK_DGRAM);
  const std::string yaml =
      "storage:\n  data_dir: " + (dir / "data") +
      "\ninputs:\n  udp:\n    - name: udp\n      listen: [\"127.0.0.1:" + std::to_string(udp) +
      "\"]\nhttp:\n  listen: 127.0.0.1:" + std::to_string(agent.http_port()) + "\n";
  // WatchdogSec=0.2s: keep-alives every 100 ms, well inside one test.
  agent.start(yaml, {"NOTIFY_SOCKET=" + (dir / "notify"), "WATCHDOG_USEC=200000"});
  CHECK(sock.await("READY=1"));
  CHECK(agent.get("/ready").status == 200);
  // Several keep-alives in a row: the main loop keeps sending them.
  for (int i = 0; i < 3; ++i) CHECK(sock.await("WATCHDOG=1"));
  agent.process().signal(SIGHUP);
  CHECK(sock.await("RELOADING=1"));
  CHECK(sock.await("READY=1"));
  CHECK(agent.stop() == 0);
  CHECK(sock.await("STOPPING=1", std::chrono::seconds(1)));
}

TEST_CASE("without NOTIFY_SOCKET the agent runs as a plain process", "[agent][systemd]") {
  TempDir dir;
  AgentProcess agent(FLOWDB_AGENT_BIN, dir.path());
  agent.start("storage:\n  data_dir: " + (dir / "data") +
              "\ninputs:\n  udp: []\n  mqtt: []\nhttp:\n  listen: 127.0.0.1:" +
              std::to_string(agent.http_port()) + "\n");
  CHECK(agent.get("/ready").status == 200);
  CHECK(agent.stop() == 0);
}

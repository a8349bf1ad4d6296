// The agent on a full disk: its data_dir is on a tmpfs of a few MiB that the
// test mounts (root only; skipped with a warning otherwise) and fills.
// /ready turns 503 with the reason and flowdb_engine_background_error 1; the
// batcher holds what it could not write; freeing space brings /ready back,
// the gauge to 0, and the held points are stored. SIGTERM in the full state
// exits within log.shutdown_timeout and logs how many points were lost.
#include <catch2/catch.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <random>

#include "agent_util.h"
#include "tmpfs_mount.h"

using namespace flowdb::testing;
using Catch::Matchers::Contains;

namespace {

// One datagram of `n` points of ~1 KiB each, numbered from `first`. The
// values are random so that lz4 cannot shrink them: the disk fills quickly.
std::string datagram(int first, int n) {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (int i = first; i < first + n; ++i) {
    std::mt19937 rng(static_cast<uint32_t>(i));
    std::string pad(1000, ' ');
    for (char& c : pad) c = kAlphabet[rng() % 64];
    out += "fill,host=h v=\"" + pad + "\" " + std::to_string(1700000000000000000LL + i * 1000LL) +
           "\n";
  }
  return out;
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("A full data_dir turns /ready 503 and the agent resumes without a restart",
          "[agent][process][enospc][slow]") {
  TempDir dir;
  const std::string mnt = dir / "mnt";
  fs::create_directories(mnt);
  TmpfsMount m(mnt, "8m");
  if (!m.ok()) {
    WARN("tmpfs not mounted (" << m.error() << "): needs root; test skipped");
    return;
  }
  AgentProcess agent(FLOWDB_AGENT_BIN, dir.path());
  const int udp = free_port(SOCK_DGRAM);
  agent.start(
      "storage:\n  data_dir: " + mnt + "/data\n  sync: always\n  batch_window: 2ms\n" +
      "inputs:\n  udp:\n    - name: udp\n      listen: [\"127.0.0.1:" + std::to_string(udp) +
      "\"]\nretention:\n  rules: []\nhttp:\n  listen: 127.0.0.1:" +
      std::to_string(agent.http_port()) + "\nlog:\n  level: info\n  shutdown_timeout: 5s\n");
  REQUIRE(wait_until([&] { return agent.get("/ready").status == 200; }));
  const std::string received = "flowdb_input_points_received_total{input=\"udp\"}";
  const std::string stored = "flowdb_input_records_stored_total{input=\"udp\"}";
  int sent = 0;
  // Sends one datagram of 20 points and waits until the agent has it.
  auto send = [&] {
    send_udp(udp, datagram(sent, 20));
    sent += 20;
    REQUIRE(wait_until([&] { return agent.metric(received) == sent; }));
  };

  // Fills the tmpfs but for 1 MiB, then sends until /ready says 503.
  auto fill_until_not_ready = [&] {
    fill_leaving(mnt + "/filler", 1 << 20);
    return wait_until(
        [&] {
          send();
          return agent.get("/ready").status == 503;
        },
        std::chrono::seconds(180));
  };
  REQUIRE(fill_until_not_ready());
  auto ready = agent.get("/ready");
  CHECK_THAT(ready.body, Contains("background error"));
  CHECK_THAT(ready.body, Contains("NoSpace"));
  CHECK(agent.metric("flowdb_engine_background_error") == 1);
  for (int k = 0; k < 10; ++k) send();  // held in the batcher's queue
  CHECK(agent.metric(stored) < sent);
  const double held = sent - agent.metric(stored);
  std::cout << "enospc agent: full after " << sent << " points; " << held << " not yet stored\n";

  fs::remove(mnt + "/filler");
  REQUIRE(wait_until([&] { return agent.get("/ready").status == 200; }, std::chrono::seconds(30)));
  CHECK(agent.metric("flowdb_engine_background_error") == 0);
  REQUIRE(wait_until([&] { return agent.metric(stored) == sent; }));
  // -1: no such sample, i.e. nothing was ever dropped.
  CHECK(agent.metric("flowdb_input_points_dropped_total{input=\"udp\",reason=\"storage_error\"}") <=
        0);
  const std::string log1 = agent.log();
  CHECK(count(log1, "engine refuses writes") >= 1);
  CHECK(count(log1, "engine refuses writes") <= 3);  // one line per outage, not per batch
  CHECK(count(log1, "write_batch of") == 0);
  std::cout << "enospc agent: after freeing space all " << sent << " points stored\n";

  // Full again, then SIGTERM.
  REQUIRE(fill_until_not_ready());
  for (int k = 0; k < 5; ++k) send();
  const auto t0 = std::chrono::steady_clock::now();
  const int rc = agent.stop(std::chrono::seconds(10));
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK(rc == 0);
  CHECK(secs < 5.0);
  const std::string log2 = agent.log();
  CHECK_THAT(log2, Contains("could not be written"));
  size_t lost = 0;
  if (auto p = log2.find("shutdown with the engine refusing writes: "); p != std::string::npos) {
    lost = std::stoul(log2.substr(p + std::strlen("shutdown with the engine refusing writes: ")));
  }
  CHECK(lost > 0);
  // Every received point is either stored or counted as lost.
  fs::remove(mnt + "/filler");
  int qrc = 0;
  std::string out;
  {
    std::FILE* p = ::popen((std::string(FLOWDB_CLI_BIN) + " query --data-dir " + mnt +
                            "/data --series fill --format csv --limit 100000000 2>&1")
                               .c_str(),
                           "r");
    char buf[65536];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    qrc = WEXITSTATUS(::pclose(p));
  }
  CHECK(qrc == 0);
  const size_t rows = count(out, "\n") - 1;  // minus the header
  std::cout << "enospc agent: SIGTERM while full exited rc " << rc << " in " << secs << " s; "
            << sent << " points received, " << rows << " readable, " << lost << " logged as lost\n";
  CHECK(rows + lost == static_cast<size_t>(sent));
}

// The HTTP input's acknowledgement is end-to-end: kill -9 of a flowdb-agent
// process while two clients write, then every point a client saw answered
// 204 is in the store (read with the engine after the crash, WAL replayed).
#include <signal.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <mutex>
#include <thread>

#include "agent_util.h"
#include "flowdb/engine.h"
#include "ingest/series_key.h"
#include "ingest/value_codec.h"

using namespace flowdb;
using namespace flowdb::testing;

TEST_CASE("HTTP input: kill -9 while clients write loses no acknowledged point",
          "[http][process][integration]") {
  TempDir dir;
  AgentProcess agent(FLOWDB_AGENT_BIN, dir.path());
  agent.start("storage:\n  data_dir: " + (dir / "data") +
              "\n  sync: interval\n  sync_interval: 10s\n"  // the WAL must not rely on fsync
              "http:\n  listen: 127.0.0.1:" +
              std::to_string(agent.http_port()) + "\ninputs:\n  http:\n    - name: influx\n");
  constexpr int kClients = 2, kLines = 200;
  std::mutex mu;
  std::vector<std::vector<int>> acked(kClients);  // batch numbers answered 204, per client
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      for (int b = 0; !stop.load(); ++b) {
        std::string body;
        for (int l = 0; l < kLines; ++l) {
          const int64_t ts = 1700000000000000 + static_cast<int64_t>(b) * kLines + l;
          body += "ack,client=" + std::to_string(c) + " v=" + std::to_string(b) + "i " +
                  std::to_string(ts) + "\n";
        }
        auto r = http_request("POST", agent.http_port(), "/api/v2/write?precision=us", body);
        if (r.status == 204) {
          std::lock_guard lock(mu);
          acked[c].push_back(b);
        } else if (r.status == 0) {
          return;  // the agent is gone
        }
      }
    });
  }
  auto acked_batches = [&] {
    std::lock_guard lock(mu);
    return std::min(acked[0].size(), acked[1].size());
  };
  REQUIRE(wait_until([&] { return acked_batches() >= 20; }));
  agent.process().signal(SIGKILL);  // mid-stream: requests are in flight
  REQUIRE(agent.process().wait().value_or(0) == 128 + SIGKILL);
  stop = true;
  for (auto& t : clients) t.join();

  Config c;
  c.data_dir = dir / "data";
  auto engine = Engine::open(c);
  size_t checked = 0, missing = 0;
  for (int cl = 0; cl < kClients; ++cl) {
    const std::vector<ingest::Tag> tags = {{"client", std::to_string(cl)}};
    const std::string key = ingest::series_key("ack", tags, "v");
    for (int b : acked[cl]) {
      for (int l = 0; l < kLines; ++l) {
        auto rec = engine->get(key, 1700000000000000 + static_cast<int64_t>(b) * kLines + l);
        ingest::FieldValue v;
        if (!rec || !ingest::decode_value(rec->value, &v) || v != ingest::FieldValue(int64_t{b})) {
          ++missing;
        }
        ++checked;
      }
    }
  }
  INFO("acknowledged points checked: " << checked);
  CHECK(checked >= 2 * 20 * kLines);
  CHECK(missing == 0);
}

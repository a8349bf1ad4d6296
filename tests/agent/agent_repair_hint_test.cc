// The agent refuses a damaged data directory with one error line that names
// the fix, `flowdb repair --data-dir DIR` (issue 14); agent_main logs it as
// "cannot start: ...".
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "agent/agent.h"
#include "agent_util.h"
#include "flowdb/engine.h"

using namespace flowdb;
using Catch::Matchers::Contains;
using flowdb::testing::TempDir;

TEST_CASE("an agent refusing a corrupt data directory names flowdb repair in one line",
          "[agent][repair]") {
  TempDir dir;
  const std::string data = dir / "data";
  {
    Config c;
    c.data_dir = data;
    auto e = Engine::open(c);
    std::vector<Record> rs;
    for (int i = 0; i < 100; ++i) rs.emplace_back("cpu", i, "v");
    e->write_batch(rs);
    e->flush();
  }
  std::filesystem::remove(data + "/CURRENT");  // a table and a WAL segment stay
  agent::Agent a(agent::parse_config(
      "storage:\n  data_dir: " + data + "\nhttp:\n  listen: 127.0.0.1:0\n", "<test>"));
  try {
    a.start();
    FAIL("the agent started on a directory without CURRENT");
  } catch (const Error& e) {
    const std::string msg = e.what();
    CHECK(e.code() == Errc::Corruption);
    CHECK_THAT(msg, Contains("CURRENT is missing"));
    CHECK_THAT(msg, Contains("run `flowdb repair --data-dir " + data + "`"));
    CHECK(msg.find('\n') == std::string::npos);
  }
  a.stop();
  CHECK(std::filesystem::exists(data + "/sst"));  // nothing was removed
}

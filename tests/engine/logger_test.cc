// Config::logger: what the engine notices but does not throw reaches the
// logger at a fitting level, and nothing is written to stderr.
#include "flowdb/logger.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "flowdb/engine.h"
#include "flowdb/fault_injection_env.h"
#include "stderr_capture.h"
#include "engine_util.h"

using namespace flowdb;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using flowdb::testing::ManualClock;
using flowdb::testing::StderrCapture;
using flowdb::testing::TempDir;
using flowdb::testing::test_config;
namespace fs = std::filesystem;

namespace {

// Keeps every message, for the test to inspect. Thread-safe.
class CapturingLogger : public Logger {
 public:
  void log(Logger::Level level, std::string_view message) override {
    std::lock_guard<std::mutex> l(mu_);
    events_.emplace_back(level, std::string(message));
  }
  std::vector<std::pair<Logger::Level, std::string>> events() const {
    std::lock_guard<std::mutex> l(mu_);
    return events_;
  }
  // The first message at `level` containing `text`, or "".
  std::string find(Logger::Level level, const std::string& text) const {
    for (const auto& [l, m] : events()) {
      if (l == level && m.find(text) != std::string::npos) return m;
    }
    return "";
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::pair<Logger::Level, std::string>> events_;
};

// The newest WAL segment of `dir`.
std::string newest_wal(const std::string& dir) {
  std::string newest;
  for (const auto& e : fs::directory_iterator(dir + "/wal")) {
    if (e.path().extension() == ".log" && e.path().string() > newest) newest = e.path().string();
  }
  REQUIRE_FALSE(newest.empty());
  return newest;
}

// A store whose newest WAL segment ends in bytes that are no record: a torn
// tail at `*offset`, the segment's size before them. Returns the segment.
std::string make_torn_tail(const Config& cfg, uint64_t* offset) {
  {
    auto e = Engine::open(cfg);
    e->write_batch_sync(std::vector<Record>{Record("a", 1, "x")});
    e->close();
  }
  const std::string wal = newest_wal(cfg.data_dir);
  *offset = fs::file_size(wal);
  std::ofstream(wal, std::ios::binary | std::ios::app) << "torn-torn-torn-torn";
  return wal;
}

}  // namespace

TEST_CASE("a torn WAL tail cut at open is logged at warn level", "[engine][logger]") {
  TempDir dir;
  ManualClock clock;
  Config cfg = test_config(dir.path(), clock);
  uint64_t offset = 0;
  const std::string wal = make_torn_tail(cfg, &offset);
  auto logger = std::make_shared<CapturingLogger>();
  cfg.logger = logger;
  auto e = Engine::open(cfg);
  CHECK(e->get("a", 1));
  const std::string msg = logger->find(Logger::Level::kWarn, "truncating torn tail");
  CHECK_THAT(msg, StartsWith(wal + ": truncating torn tail at offset " + std::to_string(offset)));
}

namespace {
// An open engine with an unflushed record whose final flush at close fails
// (every write fails), logging to `logger` (may be null).
struct FailingClose {
  TempDir dir;
  ManualClock clock;
  FaultInjectionEnv env{Env::posix()};  // outlives the engine
  std::unique_ptr<Engine> engine;
  explicit FailingClose(std::shared_ptr<Logger> logger) {
    Config cfg = test_config(dir.path(), clock);
    cfg.env = &env;
    cfg.logger = std::move(logger);
    engine = Engine::open(cfg);
    engine->write_batch(std::vector<Record>{Record("a", 1, "x")});
    env.fail_after(FaultInjectionEnv::Op::Write, 0);
  }
};
}  // namespace

TEST_CASE("an error while the destructor closes the engine reaches the logger at error level",
          "[engine][logger]") {
  auto logger = std::make_shared<CapturingLogger>();
  FailingClose f(logger);
  f.engine.reset();
  CHECK_THAT(logger->find(Logger::Level::kError, "error while closing: "),
             StartsWith("error while closing: "));
}

TEST_CASE("close() throws the error itself and the destructor does not report it again",
          "[engine][logger]") {
  auto logger = std::make_shared<CapturingLogger>();
  FailingClose f(logger);
  CHECK_THROWS_AS(f.engine->close(), Error);
  f.engine.reset();
  CHECK(logger->find(Logger::Level::kError, "error while closing").empty());
}

TEST_CASE("without a logger the engine writes nothing to stderr", "[engine][logger]") {
  TempDir dir;
  ManualClock clock;
  Config cfg = test_config(dir.path(), clock);
  uint64_t offset = 0;
  make_torn_tail(cfg, &offset);
  StderrCapture err;
  {
    auto e = Engine::open(cfg);  // cuts the torn tail: a warning, discarded
    CHECK(e->get("a", 1));
  }
  FailingClose(nullptr).engine.reset();  // an error while closing: discarded
  CHECK(err.text().empty());
}

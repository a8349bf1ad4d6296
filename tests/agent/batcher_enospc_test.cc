// Batcher against an engine with a NoSpace background error (through
// FaultInjectionEnv): it holds its queue instead of retrying and dropping,
// writes it once the engine resumes, and drops (counted) on stop().
#include <catch2/catch.hpp>

#include "agent/batcher.h"
#include "agent/core/metrics.h"
#include "agent_util.h"
#include "flowdb/fault_injection_env.h"

using namespace flowdb;
using namespace flowdb::agent;
using Op = FaultInjectionEnv::Op;

namespace {
std::vector<Record> chunk(int k) {
  std::vector<Record> out;
  for (int i = 0; i < 10; ++i) out.emplace_back("c" + std::to_string(k), i, "v");
  return out;
}

// An engine on a FaultInjectionEnv and the metrics a batcher counts into.
struct FaultyStore {
  testing::TempDir dir;
  FaultInjectionEnv env{Env::posix()};
  std::unique_ptr<Engine> engine;
  Metrics metrics;
  const std::string stored = "flowdb_input_records_stored_total{input=\"in\"}";
  const std::string lost =
      "flowdb_input_points_dropped_total{input=\"in\",reason=\"storage_error\"}";

  FaultyStore() {
    Config c;
    c.data_dir = dir / "db";
    c.env = &env;
    c.wal_sync_mode = SyncMode::always();
    c.flush_interval_ms = 20;
    engine = Engine::open(c);
  }
  double metric(const std::string& name) {
    return testing::metric_value(metrics.serialize(engine.get()), name);
  }
};
}  // namespace

TEST_CASE("the batcher holds its queue while the engine is out of space and writes it after",
          "[batcher][enospc]") {
  FaultyStore st;
  auto [env, engine, stored, lost] = std::tie(st.env, st.engine, st.stored, st.lost);
  auto metric = [&](const std::string& name) { return st.metric(name); };
  Batcher b(engine.get(), &st.metrics, BatcherOptions{});
  b.start();
  int k = 0;
  for (; k < 10; ++k) REQUIRE(b.try_submit("in", chunk(k)) == Batcher::Result::kStored);
  REQUIRE(testing::wait_until([&] { return metric(stored) == 100; }));

  env.fail_after(Op::Write, 0, /*no_space=*/true);
  for (; k < 30; ++k) REQUIRE(b.try_submit("in", chunk(k)) == Batcher::Result::kStored);
  REQUIRE(testing::wait_until([&] { return metric("flowdb_engine_background_error") == 1; }));
  REQUIRE(testing::wait_until([&] { return b.queued_records() == 200; }));
  CHECK(metric(lost) <= 0);  // nothing dropped (-1: no sample)
  CHECK(metric(stored) == 100);

  env.clear_faults();
  REQUIRE(testing::wait_until([&] { return metric(stored) == 300; }));
  CHECK(b.queued_records() == 0);
  CHECK(metric("flowdb_engine_background_error") == 0);
  CHECK(engine->query(Query::prefix("c")).size() == 300);

  // Out of space again, then stop(): it does not wait for the engine.
  env.fail_after(Op::Write, 0, /*no_space=*/true);
  for (; k < 35; ++k) REQUIRE(b.try_submit("in", chunk(k)) == Batcher::Result::kStored);
  REQUIRE(testing::wait_until(
      [&] { return engine->background_error().severity != BackgroundError::Severity::None; }));
  b.stop();
  CHECK(metric(lost) == 50);
  CHECK(metric(stored) == 300);
  env.clear_faults();
}

TEST_CASE("the batcher holds its queue through an I/O error and resumes the engine itself",
          "[batcher][enospc]") {
  // The engine never retries a Hard (non-NoSpace I/O) error by itself: only
  // the batcher's resume() calls can bring these records in.
  FaultyStore st;
  auto [env, engine, stored, lost] = std::tie(st.env, st.engine, st.stored, st.lost);
  auto metric = [&](const std::string& name) { return st.metric(name); };
  BatcherOptions o;
  o.resume_backoff_min = std::chrono::milliseconds(5);
  o.resume_backoff_max = std::chrono::milliseconds(40);
  Batcher b(engine.get(), &st.metrics, o);
  b.start();
  int k = 0;
  for (; k < 10; ++k) REQUIRE(b.try_submit("in", chunk(k)) == Batcher::Result::kStored);
  REQUIRE(testing::wait_until([&] { return metric(stored) == 100; }));

  env.fail_after(Op::Write, 0);  // EIO on every write, until cleared
  for (; k < 30; ++k) REQUIRE(b.try_submit("in", chunk(k)) == Batcher::Result::kStored);
  REQUIRE(testing::wait_until(
      [&] { return engine->background_error().severity == BackgroundError::Severity::Hard; }));
  // Resumes succeed or fail while the fault lasts; every write fails again.
  const uint64_t errors_before = engine->stats().background_errors;
  REQUIRE(testing::wait_until([&] {
    return engine->stats().background_errors >= errors_before + 2 ||
           engine->background_error().resume_attempts >= 2;
  }));
  CHECK(metric(lost) <= 0);  // nothing dropped (-1: no sample)
  CHECK(metric(stored) == 100);

  env.clear_faults();
  REQUIRE(testing::wait_until([&] { return metric(stored) == 300; }));
  CHECK(b.queued_records() == 0);
  CHECK(metric(lost) <= 0);
  CHECK(engine->background_error().severity == BackgroundError::Severity::None);
  CHECK(engine->stats().background_resumes >= 1);
  CHECK(engine->query(Query::prefix("c")).size() == 300);
  b.stop();
  CHECK(metric(stored) == 300);
}

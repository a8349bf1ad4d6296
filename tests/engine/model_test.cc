// Randomized model test: the engine against a std::map of (key, ts) ->
// (value, expire_at). The per-defect scenarios are in regression_test.cc.
//
// Reproduce a failure:  FLOWDB_MODEL_SEED=<seed> FLOWDB_MODEL_STEPS=<n>
// [FLOWDB_MODEL_VARIANT=<name>] model_test "randomized operations match a map model"
#include "model.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "engine_util.h"
#include "flowdb/engine.h"

using namespace flowdb;
using namespace flowdb::testing;
using flowdb::testing::ManualClock;
using flowdb::testing::TempDir;
using flowdb::testing::test_config;

namespace {

uint64_t env_u64(const char* name, uint64_t dflt) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 0) : dflt;
}

struct Variant {
  std::string name;
  StorageBackendKind backend = StorageBackendKind::MultiFile;
  Compression compression = Compression::lz4();
  std::optional<uint64_t> default_ttl;
  size_t block_size = 512;
  bool extreme_ts = false;  // also use INT64_MIN / INT64_MAX timestamps
  // get_latest near INT64_MIN has its own (failing) TEST_CASE; the extreme
  // variant leaves it out so that it can find other defects.
  bool check_latest = true;
  size_t compaction_threshold = 2;
};

class ModelRunner {
 public:
  ModelRunner(uint64_t seed, Variant v) : seed_(seed), v_(std::move(v)), rng_(seed) {
    keys_ = {"",
             "a",
             std::string("a\0", 2),
             std::string("a\0b", 3),
             "a\x01",
             "ab",
             "abc",
             "abd",
             "ac",
             "b",
             "b\xff",
             "ba",
             "k1",
             "k10",
             "k2",
             std::string("k2\0", 3),
             "\x7f",
             "\x80",
             "\xff",
             "\xff\xff"};
    for (int64_t b = -3; b <= 6; ++b) {
      for (int64_t off : {int64_t{0}, int64_t{1}, kSec / 2, kSec - 1})
        ts_.push_back(b * kSec + off);
    }
    if (v_.extreme_ts) {
      ts_.push_back(kMinTs);
      ts_.push_back(kMinTs + 1);
      ts_.push_back(kMaxTs);
      ts_.push_back(kMaxTs - 1);
    }
    clock_.set(0);
    cfg_ = test_config(dir_.path(), clock_);
    cfg_.time_bucket_secs = 1;
    cfg_.memtable_size_mb = 1;
    cfg_.block_size = v_.block_size;
    cfg_.storage_backend = v_.backend;
    cfg_.compression = v_.compression;
    cfg_.default_ttl_secs = v_.default_ttl;
    cfg_.compaction_threshold = v_.compaction_threshold;
    cfg_.block_cache_capacity_mb = 1;
    e_ = Engine::open(cfg_);
  }

  void run(uint64_t steps) {
    for (step_ = 0; step_ < steps; ++step_) {
      one_step();
      if (step_ % 10 == 9) check_full();
    }
    close_and_reopen();
    check_full();
  }

  uint64_t checks() const { return checks_; }
  uint64_t ops(const std::string& name) const {
    auto it = op_counts_.find(name);
    return it == op_counts_.end() ? 0 : it->second;
  }

 private:
  // ---- helpers
  uint64_t rnd(uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng_); }
  bool chance(double p) { return std::bernoulli_distribution(p)(rng_); }
  const std::string& key() { return keys_[rnd(keys_.size())]; }
  int64_t ts() { return ts_[rnd(ts_.size())]; }
  int64_t now() const { return clock_.now->load(); }
  std::string value() {
    size_t n = chance(0.1) ? 1000 + rnd(6000) : rnd(24);
    std::string v(n, '\0');
    for (auto& c : v) c = static_cast<char>('a' + rnd(26));
    if (!v.empty() && chance(0.2)) v[0] = '\0';
    v += "#" + std::to_string(step_);
    return v;
  }
  int64_t explicit_expiry() {
    if (chance(0.5)) return kNeverExpires;
    return now() + static_cast<int64_t>(rnd(20 * kSec)) - 2 * kSec;
  }

  std::string ctx() const {
    std::ostringstream o;
    o << "variant=" << v_.name << " seed=" << seed_ << " step=" << step_ << " now=" << now()
      << "\nreproduce: FLOWDB_MODEL_SEED=" << seed_ << " FLOWDB_MODEL_STEPS=" << (step_ + 1)
      << " FLOWDB_MODEL_VARIANT=" << v_.name << "\nlast operations:";
    for (const auto& s : log_) o << "\n  " << s;
    return o.str();
  }
  void note(std::string s) {
    ++op_counts_[s.substr(0, s.find(' '))];
    log_.push_back("#" + std::to_string(step_) + " " + std::move(s));
    if (log_.size() > 40) log_.pop_front();
  }
  template <typename T>
  void expect_eq(const T& got, const T& want, const std::string& what) {
    ++checks_;
    if (got == want) return;
    FAIL(what << " differs from the model\n got:  " << show(got) << "\n want: " << show(want)
              << "\n"
              << ctx());
  }

  // ---- operations
  void one_step() {
    const uint64_t r = rnd(1000);
    if (r < 250) {
      op_write_batch();
    } else if (r < 330) {
      op_write_ttl();
    } else if (r < 420) {
      op_mixed_batch();
    } else if (r < 500) {
      op_delete_batch();
    } else if (r < 540) {
      op_delete_range();
    } else if (r < 570) {
      op_patch();
    } else if (r < 610) {
      note("flush");
      e_->flush();
      check_full();
    } else if (r < 640) {
      bool ran = e_->trigger_compaction();
      note(std::string("trigger_compaction ran=") + (ran ? "1" : "0"));
      check_full();
    } else if (r < 660) {
      int64_t b = static_cast<int64_t>(rnd(10)) - 3;
      bool ran = e_->compact_bucket(b);
      note("compact_bucket " + std::to_string(b) + " ran=" + (ran ? "1" : "0"));
      check_full();
    } else if (r < 680) {
      auto g = e_->trigger_gc();
      note("trigger_gc files=" + std::to_string(g.files));
      check_full();
    } else if (r < 690) {
      note("reopen");
      close_and_reopen();
      check_full();
    } else if (r < 740) {
      int64_t dt = static_cast<int64_t>(rnd(kSec / 4));
      clock_.advance(dt);
      note("advance " + std::to_string(dt) + " -> " + std::to_string(now()));
    } else if (r < 780) {
      op_snapshot();
    } else {
      check_some();
    }
  }

  void op_write_batch() {
    std::vector<Record> batch;
    const size_t n = 1 + rnd(5);
    std::string desc;
    for (size_t i = 0; i < n; ++i) {
      Record rec(key(), ts(), explicit_expiry(), value());
      batch.push_back(rec);
      if (v_.default_ttl) rec.expire_at = expiry(rec.ts, *v_.default_ttl);
      model_.put(rec);
      desc += " " + show(rec);
    }
    if (chance(0.2)) {
      note("write_batch_sync" + desc);
      e_->write_batch_sync(batch);
    } else {
      note("write_batch" + desc);
      e_->write_batch(batch);
    }
  }

  void op_write_ttl() {
    std::vector<Record> batch;
    std::optional<uint64_t> ttl;
    if (!chance(0.2)) ttl = 1 + rnd(15);
    if (chance(0.05)) ttl = static_cast<uint64_t>(kMaxTs / kSec) + rnd(1000);  // saturates
    std::string desc = " ttl=" + (ttl ? std::to_string(*ttl) : std::string("none"));
    const size_t n = 1 + rnd(4);
    for (size_t i = 0; i < n; ++i) {
      Record rec(key(), ts(), explicit_expiry(), value());
      batch.push_back(rec);
      std::optional<uint64_t> eff = ttl ? ttl : v_.default_ttl;
      if (eff) rec.expire_at = expiry(rec.ts, *eff);
      model_.put(rec);
      desc += " " + show(rec);
    }
    note("write_batch_ttl" + desc);
    e_->write_batch_ttl(batch, ttl);
  }

  void op_mixed_batch() {
    WriteBatch b;
    const size_t n = 1 + rnd(6);
    std::string desc;
    std::vector<std::function<void()>> apply;
    for (size_t i = 0; i < n; ++i) {
      const uint64_t kind = rnd(10);
      if (kind < 6) {
        Record rec(key(), ts(), explicit_expiry(), value());
        b.put(rec);
        if (v_.default_ttl) rec.expire_at = expiry(rec.ts, *v_.default_ttl);
        model_.put(rec);
        desc += " put" + show(rec);
      } else if (kind < 9) {
        std::string k = key();
        int64_t t = ts();
        if (chance(0.5) && !model_.map().empty()) {  // delete something that exists
          auto it = model_.map().begin();
          std::advance(it, static_cast<long>(rnd(model_.map().size())));
          k = it->first.first;
          t = it->first.second;
        }
        b.del(k, t);
        model_.del(k, t);
        desc += " del{" + esc(k) + "," + std::to_string(t) + "}";
      } else {
        std::string s = key(), e = key();
        if (s == e) continue;
        if (e < s) std::swap(s, e);
        b.delete_range(s, e);
        model_.delete_range(s, e);
        desc += " delete_range[" + esc(s) + "," + esc(e) + ")";
      }
    }
    bool sync = chance(0.2);
    note("write(batch" + std::string(sync ? ",sync)" : ")") + desc);
    e_->write(WriteOptions{.sync = sync}, b);
  }

  void op_delete_batch() {
    std::vector<std::pair<std::string, int64_t>> dels;
    const size_t n = 1 + rnd(4);
    std::string desc;
    for (size_t i = 0; i < n; ++i) {
      std::string k = key();
      int64_t t = ts();
      if (chance(0.7) && !model_.map().empty()) {
        auto it = model_.map().begin();
        std::advance(it, static_cast<long>(rnd(model_.map().size())));
        k = it->first.first;
        t = it->first.second;
      }
      dels.emplace_back(k, t);
      model_.del(k, t);
      desc += " {" + esc(k) + "," + std::to_string(t) + "}";
    }
    note("delete_batch" + desc);
    e_->delete_batch(dels);
  }

  void op_delete_range() {
    std::string s = key(), e = key();
    if (chance(0.3)) e = s + std::string(1, '\0');  // exactly one key
    if (s == e) return;
    if (e < s) std::swap(s, e);
    note("delete_range [" + esc(s) + "," + esc(e) + ")");
    model_.delete_range(s, e);
    e_->delete_range(s, e);
  }

  void op_patch() {
    std::string k = key();
    int64_t t = ts();
    if (chance(0.7) && !model_.map().empty()) {
      auto it = model_.map().begin();
      std::advance(it, static_cast<long>(rnd(model_.map().size())));
      k = it->first.first;
      t = it->first.second;
    }
    std::optional<std::string> nv;
    std::optional<uint64_t> ttl;
    if (chance(0.7)) nv = value();
    if (chance(0.4)) ttl = 1 + rnd(15);
    auto cur = model_.get(k, t, now());
    note("patch_record {" + esc(k) + "," + std::to_string(t) +
         "} value=" + (nv ? esc(nv->substr(0, 16)) : "none") +
         " ttl=" + (ttl ? std::to_string(*ttl) : "none") + (cur ? " (exists)" : " (absent)"));
    if (!cur) {
      ++checks_;
      try {
        e_->patch_record(k, t, nv, ttl);
      } catch (const Error& err) {
        if (err.code() == Errc::NotFound) return;
        FAIL("patch_record of an absent record threw " << err.what() << "\n" << ctx());
      }
      FAIL("patch_record of an absent record did not throw NotFound\n" << ctx());
    }
    Record want = *cur;
    if (nv) want.value = *nv;
    if (ttl) want.expire_at = expiry(t, *ttl);
    Record got = e_->patch_record(k, t, nv, ttl);
    model_.put(want);
    expect_eq(got, want, "patch_record result");
  }

  void op_snapshot() {
    if (snap_ && chance(0.6)) {
      note("check snapshot");
      ReadOptions ro;
      ro.snapshot = snap_;
      auto want = snap_model_.query(ScanRange::all(), std::nullopt, now());
      expect_eq(e_->query(Query{ScanRange::all(), {}}, ro), want, "query(all) at a snapshot");
      std::vector<Record> scanned;
      for (const Record& r : e_->scan(ScanRange::all(), ro)) scanned.push_back(r);
      expect_eq(scanned, want, "scan(all) at a snapshot");
      const std::string& k = key();
      int64_t t = ts();
      expect_eq(e_->get(k, t, ro), snap_model_.get(k, t, now()),
                "get(" + esc(k) + "," + std::to_string(t) + ") at a snapshot");
      if (v_.check_latest) {
        expect_eq(e_->get_latest(k, ro), snap_model_.get_latest(k, now()),
                  "get_latest(" + esc(k) + ") at a snapshot");
      }
      if (chance(0.3)) snap_.reset();
    } else {
      note("take snapshot");
      snap_ = e_->get_snapshot();
      snap_model_ = model_;
    }
  }

  void close_and_reopen() {
    snap_.reset();
    if (chance(0.5)) {
      e_->close();
    }
    e_.reset();
    e_ = Engine::open(cfg_);
  }

  ScanRange random_range() {
    ScanRange r;
    switch (rnd(6)) {
      case 0:
        r = ScanRange::all();
        break;
      case 1: {
        std::string p = key();
        if (!p.empty() && chance(0.5)) p.pop_back();
        r = ScanRange::prefix(p);
        break;
      }
      case 2: {
        std::string s = key(), e = key();
        if (e < s) std::swap(s, e);
        if (e.empty()) e = "a";          // an empty end has its own TEST_CASE
        r = ScanRange::key_range(s, e);  // may be empty (s == e)
        break;
      }
      case 3: {
        int64_t a = ts(), b = ts();
        if (b < a && chance(0.8)) std::swap(a, b);  // sometimes an empty (inverted) range
        r = ScanRange::time_range(a, b);
        break;
      }
      case 4: {
        int64_t a = ts(), b = ts();
        if (b < a) std::swap(a, b);
        std::string p = key();
        if (!p.empty() && chance(0.5)) p.pop_back();
        r = ScanRange::prefix_time_range(p, a, b);
        break;
      }
      default: {
        int64_t a = ts(), b = ts();
        if (b < a) std::swap(a, b);
        std::string s = key(), e = key();
        if (e < s) std::swap(s, e);
        if (e.empty()) e = "b";
        r = ScanRange::key_time_range(s, e, a, b);
        break;
      }
    }
    return r;
  }

  // Model semantics for ScanRange::prefix(): [p, prefix_successor(p)).
  void check_query(const ScanRange& range, std::optional<size_t> limit) {
    auto want = model_.query(range, limit, now());
    Query q{range, limit};
    expect_eq(
        e_->query(q), want,
        "query(" + show(range) + ", limit=" + (limit ? std::to_string(*limit) : "none") + ")");
    if (!limit) {
      std::vector<Record> scanned;
      auto it = e_->scan(range);
      while (const Record* r = it.next()) scanned.push_back(*r);
      expect_eq(scanned, want, "scan(" + show(range) + ")");
    }
  }

  void check_some() {
    note("check_some");
    for (int i = 0; i < 4; ++i) {
      const std::string& k = key();
      int64_t t = ts();
      expect_eq(e_->get(k, t), model_.get(k, t, now()),
                "get(" + esc(k) + "," + std::to_string(t) + ")");
    }
    for (int i = 0; i < 2 && v_.check_latest; ++i) {
      const std::string& k = key();
      expect_eq(e_->get_latest(k), model_.get_latest(k, now()), "get_latest(" + esc(k) + ")");
    }
    std::optional<size_t> limit;
    if (chance(0.4)) limit = rnd(8);
    check_query(random_range(), limit);
  }

  void check_full() {
    expect_eq(e_->query(Query{ScanRange::all(), {}}), model_.query(ScanRange::all(), {}, now()),
              "query(all)");
    for (const auto& [id, val] : model_.map()) {
      expect_eq(e_->get(id.first, id.second), model_.get(id.first, id.second, now()),
                "get(" + esc(id.first) + "," + std::to_string(id.second) + ")");
    }
    for (const auto& k : keys_) {
      if (!v_.check_latest) break;
      expect_eq(e_->get_latest(k), model_.get_latest(k, now()), "get_latest(" + esc(k) + ")");
    }
    for (int i = 0; i < 3; ++i)
      check_query(random_range(), chance(0.5) ? std::optional<size_t>(rnd(10)) : std::nullopt);
  }

  const uint64_t seed_;
  const Variant v_;
  std::mt19937_64 rng_;
  TempDir dir_;
  ManualClock clock_;
  Config cfg_;
  std::unique_ptr<Engine> e_;
  Model model_;
  std::shared_ptr<const Snapshot> snap_;
  Model snap_model_;
  std::vector<std::string> keys_;
  std::vector<int64_t> ts_;
  uint64_t step_ = 0;
  uint64_t checks_ = 0;
  std::deque<std::string> log_;
  std::map<std::string, uint64_t> op_counts_;
};

std::vector<Variant> variants() {
  std::vector<Variant> v;
  v.push_back({"multifile-lz4", StorageBackendKind::MultiFile, Compression::lz4(), {}, 512});
  v.push_back({"multifile-none", StorageBackendKind::MultiFile, Compression::none(), {}, 256});
  v.push_back({"multifile-zstd", StorageBackendKind::MultiFile, Compression::zstd(3), {}, 1024});
  v.push_back({"singlefile-lz4", StorageBackendKind::SingleFile, Compression::lz4(), {}, 512});
  v.push_back({"singlefile-none", StorageBackendKind::SingleFile, Compression::none(), {}, 256});
  v.push_back({"singlefile-zstd", StorageBackendKind::SingleFile, Compression::zstd(1), {}, 4096});
  Variant ttl{"multifile-default-ttl", StorageBackendKind::MultiFile, Compression::lz4(), 4, 512};
  v.push_back(ttl);
  Variant th1{"multifile-threshold1", StorageBackendKind::MultiFile, Compression::none(), {}, 256};
  th1.compaction_threshold = 1;
  v.push_back(th1);
  return v;
}

bool zstd_built() {
  Config c;
  c.data_dir = "/nonexistent";
  c.compression = Compression::zstd();
  try {
    c.validate();
    return true;
  } catch (const Error& e) {
    CHECK(e.code() == Errc::InvalidArgument);
    return false;
  }
}

void run_model(const Variant& v, uint64_t seed, uint64_t steps) {
  INFO("variant " << v.name << " seed " << seed << " steps " << steps);
  if (v.compression.kind() == Compression::Kind::Zstd && !zstd_built()) {
    // Built with FLOWDB_WITH_ZSTD=OFF: opening must refuse zstd cleanly.
    WARN("zstd is not built in; checking that " << v.name << " is refused");
    TempDir dir;
    ManualClock clock;
    auto cfg = test_config(dir.path(), clock);
    cfg.compression = v.compression;
    CHECK_THROWS_MATCHES(Engine::open(cfg), Error, Catch::Predicate<Error>([](const Error& x) {
                           return x.code() == Errc::InvalidArgument;
                         }));
    return;
  }
  ModelRunner r(seed, v);
  r.run(steps);
  CHECK(r.checks() > steps);  // the run really compared something
}

}  // namespace

TEST_CASE("randomized operations match a map model", "[engine][model][slow]") {
  const uint64_t steps = env_u64("FLOWDB_MODEL_STEPS", 1500);
  const char* only = std::getenv("FLOWDB_MODEL_VARIANT");
  std::vector<uint64_t> seeds = {1, 2, 3};
  if (std::getenv("FLOWDB_MODEL_SEED")) seeds = {env_u64("FLOWDB_MODEL_SEED", 1)};
  for (const auto& v : variants()) {
    if (only && v.name != only) continue;
    for (uint64_t seed : seeds) {
      DYNAMIC_SECTION(v.name << " seed " << seed) { run_model(v, seed, steps); }
    }
  }
}

TEST_CASE("randomized operations with extreme timestamps match a map model",
          "[engine][model][slow]") {
  const uint64_t steps = env_u64("FLOWDB_MODEL_STEPS", 800);
  Variant v{"extreme-ts", StorageBackendKind::MultiFile, Compression::lz4(), {}, 512};
  v.extreme_ts = true;
  v.check_latest = false;
  for (uint64_t seed : {11, 12}) {
    DYNAMIC_SECTION("seed " << seed) { run_model(v, seed, steps); }
  }
}

// An interrupted repair (issue 14): an I/O error at any write, sync, rename
// or create of a repair, then a power loss (FaultInjectionEnv drops whatever
// was not fsync'd), then a second repair. Open must return what the intact
// files hold, and every original file must be in place or in lost/ with its
// bytes unchanged -- so a repair cut short is finished by running it again.
#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "damage_util.h"

using namespace flowdb;
using namespace flowdb::damage;

namespace {

// The damage every trial starts from: a corrupt block in one table, so the
// repair also quarantines a file and writes a table from the WAL.
void damage(StorageBackendKind b, const std::string& dir) {
  if (b == StorageBackendKind::MultiFile) {
    flip(dir + "/" + table_files(dir).at(1), 100);
  } else {
    flip(dir + "/sst.pack", 100);  // the first table
  }
}
int damaged_unit(StorageBackendKind b) { return b == StorageBackendKind::MultiFile ? 1 : 0; }

// How many operations of kind `op` an uninterrupted repair makes.
uint64_t ops_of_repair(const Pristine& p, StorageBackendKind b, Op op) {
  TempDir work;
  const std::string dir = (work / "db");
  fs::copy(p.path(), dir, fs::copy_options::recursive);
  damage(b, dir);
  FaultInjectionEnv env(Env::posix());
  Config cfg = p.cfg;
  cfg.data_dir = dir;
  cfg.env = &env;
  Engine::repair(cfg);
  return env.count(op);
}

// Empty if the trial holds up, else what went wrong.
std::string interrupted_trial(const Pristine& p, StorageBackendKind b, Op op, uint64_t n) {
  TempDir work;
  const std::string dir = (work / "db");
  fs::copy(p.path(), dir, fs::copy_options::recursive);
  damage(b, dir);
  const Files before = snapshot(dir);
  FaultInjectionEnv env(Env::posix());
  Config cfg = p.cfg;
  cfg.data_dir = dir;
  cfg.env = &env;
  env.fail_after(op, n);
  std::string failure;
  try {
    Engine::repair(cfg);
    failure += " the injected fault did not stop repair;";
  } catch (const Error&) {
  }
  env.clear_faults();
  env.drop_unsynced_data();
  failure += check_nothing_lost(before, dir);
  // What the interrupted repair wrote (tables, a MANIFEST) is the second
  // one's input: it too must be kept or moved to lost/ unchanged.
  Files inputs = before;
  for (auto& [rel, bytes] : snapshot(dir)) {
    if (rel.rfind("lost/", 0) != 0 && !inputs.count(rel)) inputs[rel] = std::move(bytes);
  }
  cfg.env = nullptr;
  try {
    const RepairResult r = Engine::repair(cfg);
    failure += check_nothing_lost(inputs, dir);
    auto e = Engine::open(cfg);
    const std::string diff = compare_with_model(*e, model_without(p, {damaged_unit(b)}));
    if (!diff.empty()) failure += " " + diff + "\n" + r.summary();
  } catch (const std::exception& e) {
    failure += std::string(" the second repair or open threw: ") + e.what();
  }
  return failure;
}

}  // namespace

TEST_CASE("a repair cut short by an I/O error and a power loss is finished by running it again",
          "[engine][repair]") {
  for (auto b : {StorageBackendKind::MultiFile, StorageBackendKind::SingleFile}) {
    const Pristine& p = pristine(b);
    int trials = 0;
    std::vector<std::string> failures;
    for (Op op : {Op::Write, Op::Sync, Op::Rename, Op::Create}) {
      const uint64_t total = ops_of_repair(p, b, op);
      for (uint64_t n = 0; n < total; n += std::max<uint64_t>(1, total / 12)) {
        ++trials;
        const std::string f = interrupted_trial(p, b, op, n);
        if (!f.empty()) {
          failures.push_back("op " + std::to_string(static_cast<int>(op)) + " #" +
                             std::to_string(n) + ":" + f);
        }
      }
    }
    std::string msg = "interrupted repair [" + backend_name(b) + "]: trials " +
                      std::to_string(trials) + ", failures " + std::to_string(failures.size());
    for (size_t i = 0; i < failures.size() && i < 10; ++i) msg += "\n  " + failures[i];
    WARN(msg);
    CHECK(trials >= 8);
    CHECK(failures.empty());
  }
}

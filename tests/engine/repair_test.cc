// Repair trials (issue 14 item 2): the damage-trial store (damage_util.h) is
// damaged -- a metadata file or WAL segment removed, the MANIFEST cut or
// flipped, a table block corrupted -- then Engine::repair and open run on a
// fresh copy. Open must return exactly the newest surviving write of every
// record held by an intact table or WAL segment (no loss, no resurrection),
// and every file of the damaged directory must still be in place or in
// lost/ with its bytes unchanged. Also: adoption of unrecorded tables,
// compaction output vs inputs, and the `flowdb repair` CLI.
#include <sys/wait.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "damage_util.h"

using namespace flowdb;
using namespace flowdb::damage;
using flowdb::testing::write_bytes;

namespace {

std::string lost_listing(const std::string& dir) {
  std::string s;
  if (!fs::exists(dir + "/lost")) return s;
  for (const auto& e : fs::recursive_directory_iterator(dir + "/lost")) {
    if (e.is_regular_file()) s += " " + fs::relative(e.path(), dir).string();
  }
  return s;
}

enum class Expect { Clean, Quarantine, Either };

struct Outcome {
  int trials = 0, clean = 0, quarantined = 0;
  std::vector<std::string> failures;
};

struct Trial {
  std::string what;
  std::function<void(const std::string&)> damage;
  std::set<int> lost_units;  // whose writes are gone with the damaged files
  Expect expect = Expect::Either;
  std::string must_quarantine;  // a path that must appear in lost/
};

void run_trial(const Pristine& p, const Trial& t, Outcome& out) {
  TempDir work;
  const std::string dir = (work / "db");
  fs::copy(p.path(), dir, fs::copy_options::recursive);
  t.damage(dir);
  const Files before = snapshot(dir);
  ++out.trials;
  Config cfg = p.cfg;
  cfg.data_dir = dir;
  cfg.env = nullptr;
  std::string failure, summary;
  try {
    const RepairResult r = Engine::repair(cfg);
    summary = r.summary();
    (r.clean() ? out.clean : out.quarantined)++;
    failure = check_nothing_lost(before, dir);
    if (t.expect == Expect::Clean && !r.clean()) failure += " quarantined something;";
    if (t.expect == Expect::Quarantine && r.clean()) failure += " quarantined nothing;";
    if (!t.must_quarantine.empty() && !fs::exists(dir + "/lost/" + t.must_quarantine)) {
      failure += " lost/" + t.must_quarantine + " is missing (lost/:" + lost_listing(dir) + ");";
    }
    auto e = Engine::open(cfg);
    const std::string diff = compare_with_model(*e, model_without(p, t.lost_units));
    if (!diff.empty()) failure += " after repair, " + diff + ";";
    e.reset();
  } catch (const std::exception& e) {
    failure += std::string(" threw: ") + e.what();
  }
  if (!failure.empty()) out.failures.push_back(t.what + ":" + failure + "\n" + summary);
}

void report(const std::string& kind, StorageBackendKind b, const Outcome& o) {
  std::ostringstream os;
  os << "repair " << kind << " [" << backend_name(b) << "]: trials " << o.trials << ", clean "
     << o.clean << ", with quarantine " << o.quarantined << ", failures " << o.failures.size();
  for (size_t i = 0; i < o.failures.size() && i < 10; ++i) os << "\n  " << o.failures[i];
  WARN(os.str());
  CHECK(o.trials > 0);
  CHECK(o.failures.empty());
}

// One trial per position of the MANIFEST, at about `trials` positions.
void manifest_trials(StorageBackendKind b, const std::string& kind, size_t trials,
                     const std::function<Trial(const std::string&, size_t)>& make) {
  const Pristine& p = pristine(b);
  const std::string name = manifest_name(p.path());
  const size_t size = fs::file_size(p.path() + "/" + name);
  Outcome o;
  for (size_t pos = 0; pos < size; pos += std::max<size_t>(1, size / trials)) {
    run_trial(p, make(name, pos), o);
  }
  report(kind, b, o);
}

const StorageBackendKind kBackends[] = {StorageBackendKind::MultiFile,
                                        StorageBackendKind::SingleFile};

}  // namespace

TEST_CASE("repair of an undamaged store is clean and keeps every record", "[engine][repair]") {
  for (auto b : kBackends) {
    Outcome o;
    run_trial(pristine(b), {"no damage", [](const std::string&) {}, {}, Expect::Clean, ""}, o);
    report("no-damage", b, o);
  }
}

TEST_CASE(
    "after CURRENT, the MANIFEST or a WAL segment is removed, repair then open returns what "
    "the remaining files hold",
    "[engine][repair]") {
  for (auto b : kBackends) {
    const Pristine& p = pristine(b);
    const std::vector<std::string> wal = wal_segments(p.path());
    REQUIRE(wal.size() == 2);  // the layout build() makes: kWalA, kWalB
    const std::string manifest = manifest_name(p.path());
    auto remove = [](std::string rel) {
      return [rel](const std::string& dir) { REQUIRE(fs::remove(dir + "/" + rel)); };
    };
    Outcome o;
    run_trial(p, {"remove CURRENT", remove("CURRENT"), {}, Expect::Clean, ""}, o);
    run_trial(p, {"remove " + manifest, remove(manifest), {}, Expect::Quarantine, "CURRENT"}, o);
    run_trial(p, {"remove " + wal[0], remove(wal[0]), {kWalA}, Expect::Clean, ""}, o);
    run_trial(p, {"remove " + wal[1], remove(wal[1]), {kWalB}, Expect::Clean, ""}, o);
    run_trial(p,
              {"remove CURRENT and " + manifest,
               [&](const std::string& dir) {
                 remove("CURRENT")(dir);
                 remove(manifest)(dir);
               },
               {},
               Expect::Clean,
               ""},
              o);
    report("remove-file", b, o);
  }
}

TEST_CASE("after the MANIFEST is cut at any of many lengths, repair then open returns every record",
          "[engine][repair]") {
  for (auto b : kBackends) {
    manifest_trials(b, "truncate-manifest", 120, [](const std::string& name, size_t len) {
      const std::string cut = std::to_string(len);
      return Trial{"truncate " + name + " to " + cut,
                   [name, len](const std::string& dir) {
                     const std::string data = read_bytes(dir + "/" + name);
                     write_bytes(dir + "/" + name, data.substr(0, len));
                   },
                   {},
                   Expect::Either,  // a cut at a record boundary leaves a readable MANIFEST
                   ""};
    });
  }
}

TEST_CASE("after a MANIFEST byte is flipped, repair then open returns every record",
          "[engine][repair]") {
  for (auto b : kBackends) {
    manifest_trials(b, "flip-manifest-byte", 100, [](const std::string& name, size_t pos) {
      return Trial{"flip " + name + ":" + std::to_string(pos),
                   [name, pos](const std::string& dir) { flip(dir + "/" + name, pos); },
                   {},
                   Expect::Quarantine,
                   name};
    });
  }
}

TEST_CASE("a table with a corrupt block is quarantined and the rest of the store is recovered",
          "[engine][repair]") {
  {
    const Pristine& p = pristine(StorageBackendKind::MultiFile);
    const std::vector<std::string> tables = table_files(p.path());
    REQUIRE(tables.size() == 4);  // rounds 0..3, in flush order
    Outcome o;
    for (int i = 0; i < 4; ++i) {
      const std::string t = tables[static_cast<size_t>(i)];
      const uint64_t size = fs::file_size(p.path() + "/" + t);
      for (uint64_t pos : {uint64_t{100}, size - 100}) {  // a data block; the index block
        run_trial(p,
                  {"flip " + t + ":" + std::to_string(pos),
                   [&](const std::string& dir) { flip(dir + "/" + t, pos); },
                   {i},
                   Expect::Quarantine,
                   t},
                  o);
      }
    }
    report("corrupt-table", StorageBackendKind::MultiFile, o);
  }
  {
    const Pristine& p = pristine(StorageBackendKind::SingleFile);
    const uint64_t size = fs::file_size(p.path() + "/sst.pack");
    Outcome o;
    // The first table's first data block, the last table's index block.
    for (auto [pos, unit] : {std::pair<uint64_t, int>{100, 0}, {size - 100, 3}}) {
      run_trial(p,
                {"flip sst.pack:" + std::to_string(pos),
                 [&](const std::string& dir) { flip(dir + "/sst.pack", pos); },
                 {unit},
                 Expect::Quarantine,
                 ""},
                o);
    }
    report("corrupt-table", StorageBackendKind::SingleFile, o);
  }
}

TEST_CASE("repair adopts the tables a MANIFEST cut back to its opening snapshot does not record",
          "[engine][repair]") {
  for (auto b : kBackends) {
    const Pristine& p = pristine(b);
    TempDir work;
    const std::string dir = (work / "db");
    fs::copy(p.path(), dir, fs::copy_options::recursive);
    const std::string name = manifest_name(dir);
    const std::string data = read_bytes(dir + "/" + name);
    write_bytes(dir + "/" + name, data.substr(0, record_ends(data)[0]));
    Config cfg = p.cfg;
    cfg.data_dir = dir;
    cfg.env = nullptr;
    const RepairResult r = Engine::repair(cfg);
    INFO(backend_name(b) << "\n" << r.summary());
    CHECK(r.tables_kept == 4);
    CHECK(r.tables_adopted == 4);
    CHECK(r.wal_segments_replayed == 2);
    CHECK(r.records_in_tables == 4 * static_cast<uint64_t>(kPerRound));
    auto e = Engine::open(cfg);
    CHECK(compare_with_model(*e, p.model).empty());
  }
}

#ifdef FLOWDB_CLI_BIN
namespace {

// Runs a shell command; returns its stdout and stderr, *rc its exit status.
std::string run_capture(const std::string& cmd, int* rc) {
  std::FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  REQUIRE(p != nullptr);
  std::string out;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  const int st = ::pclose(p);
  *rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return out;
}

}  // namespace

TEST_CASE(
    "flowdb repair prints a summary and exits 1 after quarantining, 0 when clean, 2 on misuse",
    "[engine][repair][cli]") {
  using Catch::Matchers::Contains;
  const std::string cli = FLOWDB_CLI_BIN;
  const Pristine& p = pristine(StorageBackendKind::MultiFile);
  TempDir work;
  const std::string dir = (work / "db");
  fs::copy(p.path(), dir, fs::copy_options::recursive);
  const std::string t = table_files(dir).at(1);
  flip(dir + "/" + t, 100);
  int rc = -1;
  std::string out = run_capture(cli + " repair --data-dir " + dir, &rc);
  INFO(out);
  CHECK(rc == 1);
  CHECK_THAT(out, Contains("tables kept: 3"));
  CHECK_THAT(out, Contains("WAL segments replayed: 2"));
  CHECK_THAT(out, Contains("files quarantined in lost/: 1"));
  CHECK_THAT(out, Contains("lost/" + t + ": unreadable"));
  CHECK(fs::exists(dir + "/lost/" + t));
  // Repaired: a second run finds nothing to quarantine.
  out = run_capture(cli + " repair --data-dir " + dir, &rc);
  CHECK(rc == 0);
  CHECK_THAT(out, Contains("result: clean"));
  CHECK_THAT(out, Contains("tables kept: 4"));  // three old ones, one built from the WAL
  {
    Config cfg = p.cfg;
    cfg.data_dir = dir;
    cfg.env = nullptr;
    auto e = Engine::open(cfg);
    CHECK(compare_with_model(*e, model_without(p, {1})).empty());
  }
  // SingleFile: the backend is read off the directory (sst.pack).
  const std::string single = (work / "single");
  fs::copy(pristine(StorageBackendKind::SingleFile).path(), single, fs::copy_options::recursive);
  flip(single + "/sst.pack", 100);
  out = run_capture(cli + " repair --data-dir " + single, &rc);
  CHECK(rc == 1);
  CHECK_THAT(out, Contains("tables kept: 3"));
  CHECK_THAT(out, Contains("lost/sst.pack@0+"));
  out = run_capture(cli + " repair", &rc);
  CHECK(rc == 2);
  CHECK_THAT(out, Contains("--data-dir"));
  out = run_capture(cli + " repair --data-dir " + (work / "empty-dir-that-does-not-exist"), &rc);
  CHECK(rc == 2);
}
#endif  // FLOWDB_CLI_BIN

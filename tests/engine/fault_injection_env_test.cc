#include "flowdb/fault_injection_env.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "flowdb/error.h"
#include "temp_dir.h"

namespace flowdb {
namespace {

using flowdb::testing::TempDir;

namespace fs = std::filesystem;
using Op = FaultInjectionEnv::Op;

template <typename Fn>
Error catch_error(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e;
  }
  FAIL("expected flowdb::Error");
  return Error(Errc::Io, "unreachable");
}

// Creates `path` with `contents`, all durable (file synced, directory synced).
void write_durable(Env* env, const std::string& path, std::string_view contents) {
  auto f = env->new_writable_file(path);
  f->append(contents);
  f->sync();
  f->close();
  env->sync_dir(fs::path(path).parent_path().string());
}

std::string contents(const std::string& path) { return read_file_to_string(Env::posix(), path); }

TEST_CASE("the fault env passes operations through to the base env", "[fault_env]") {
  TempDir dir;
  FaultInjectionEnv env(Env::posix());
  env.create_dir((dir / "sub"));
  auto f = env.new_writable_file((dir / "sub/a"));
  f->append("hello");
  REQUIRE(f->size() == 5);
  f->close();
  REQUIRE(env.file_exists((dir / "sub/a")));
  REQUIRE(env.get_file_size((dir / "sub/a")) == 5);
  REQUIRE(env.get_children((dir / "sub")) == std::vector<std::string>{"a"});
  REQUIRE(read_file_to_string(&env, (dir / "sub/a")) == "hello");
  env.rename_file((dir / "sub/a"), (dir / "sub/b"));
  REQUIRE(contents((dir / "sub/b")) == "hello");
  env.truncate_file((dir / "sub/b"), 2);
  REQUIRE(contents((dir / "sub/b")) == "he");
  env.remove_file((dir / "sub/b"));
  REQUIRE_FALSE(env.file_exists((dir / "sub/b")));
  auto lock = env.lock_file((dir / "LOCK"));
  REQUIRE(catch_error([&] { env.lock_file((dir / "LOCK")); }).code() == Errc::Busy);
  REQUIRE(catch_error([&] { env.new_random_access_file((dir / "nope")); }).code() ==
          Errc::NotFound);
}

TEST_CASE("fail_after Write lets n writes through, then fails without writing", "[fault_env]") {
  TempDir dir;
  FaultInjectionEnv env(Env::posix());
  auto f = env.new_writable_file((dir / "f"));
  env.fail_after(Op::Write, 2);
  f->append("a");
  f->append("b");
  const Error e = catch_error([&] { f->append("c"); });
  REQUIRE(e.code() == Errc::Io);
  REQUIRE_THAT(e.what(), Catch::Contains((dir / "f")));
  REQUIRE(catch_error([&] { f->append("d"); }).code() == Errc::Io);  // keeps failing
  REQUIRE(contents((dir / "f")) == "ab");
  REQUIRE(f->size() == 2);
  REQUIRE(env.count(Op::Write) == 4);  // failed attempts are counted

  env.clear_faults();
  f->append("e");
  REQUIRE(contents((dir / "f")) == "abe");
  REQUIRE(env.count(Op::Write) == 5);
}

TEST_CASE("fail_after with no_space throws NoSpace", "[fault_env][nospace]") {
  TempDir dir;
  FaultInjectionEnv env(Env::posix());
  auto f = env.new_writable_file((dir / "f"));
  env.fail_after(Op::Write, 0, /*no_space=*/true);
  const Error e = catch_error([&] { f->append("x"); });
  REQUIRE(e.code() == Errc::NoSpace);
  REQUIRE_THAT(e.what(), Catch::Contains("No space left on device"));
  REQUIRE(contents((dir / "f")).empty());
}

TEST_CASE("fail_after Write also covers positional writes", "[fault_env]") {
  TempDir dir;
  FaultInjectionEnv env(Env::posix());
  auto f = env.new_read_write_file((dir / "c"));
  env.fail_after(Op::Write, 1);
  f->write_at(0, "1234");
  REQUIRE(catch_error([&] { f->write_at(2, "xx"); }).code() == Errc::Io);
  REQUIRE(contents((dir / "c")) == "1234");
  REQUIRE(env.count(Op::Write) == 2);
}

TEST_CASE("fail_after Sync fails file syncs and directory syncs", "[fault_env]") {
  TempDir dir;
  FaultInjectionEnv env(Env::posix());
  auto f = env.new_writable_file((dir / "f"));
  f->append("data");
  env.fail_after(Op::Sync, 1);
  f->sync();
  REQUIRE(catch_error([&] { f->sync(); }).code() == Errc::Io);
  REQUIRE(catch_error([&] { env.sync_dir(dir.path()); }).code() == Errc::Io);
  REQUIRE(env.count(Op::Sync) == 3);
  env.clear_faults();

  // The failed sync_dir did not make the creation durable.
  env.drop_unsynced_data();
  REQUIRE_FALSE(env.file_exists((dir / "f")));
}

TEST_CASE("fail_after Rename leaves both names untouched", "[fault_env]") {
  TempDir dir;
  FaultInjectionEnv env(Env::posix());
  write_durable(&env, (dir / "a"), "A");
  write_durable(&env, (dir / "b"), "B");
  env.fail_after(Op::Rename, 0);
  REQUIRE(catch_error([&] { env.rename_file((dir / "a"), (dir / "b")); }).code() == Errc::Io);
  REQUIRE(contents((dir / "a")) == "A");
  REQUIRE(contents((dir / "b")) == "B");
  REQUIRE(env.count(Op::Rename) == 1);
  env.clear_faults();
  env.drop_unsynced_data();  // nothing to undo
  REQUIRE(contents((dir / "a")) == "A");
  REQUIRE(contents((dir / "b")) == "B");
}

TEST_CASE("fail_after Create neither creates nor truncates", "[fault_env]") {
  TempDir dir;
  FaultInjectionEnv env(Env::posix());
  write_durable(&env, (dir / "existing"), "keep me");
  env.fail_after(Op::Create, 1);
  auto ok = env.new_read_write_file((dir / "rw"));
  REQUIRE(catch_error([&] { env.new_writable_file((dir / "existing")); }).code() == Errc::Io);
  REQUIRE(catch_error([&] { env.new_writable_file((dir / "new")); }).code() == Errc::Io);
  REQUIRE(catch_error([&] { env.new_read_write_file((dir / "rw2")); }).code() == Errc::Io);
  REQUIRE(contents((dir / "existing")) == "keep me");
  REQUIRE_FALSE(env.file_exists((dir / "new")));
  REQUIRE_FALSE(env.file_exists((dir / "rw2")));
  REQUIRE(env.count(Op::Create) == 5);  // write_durable's create + 4 here
  // Opening for append is not a creation.
  auto app = env.new_appendable_file((dir / "existing"));
  app->append("!");
  REQUIRE(contents((dir / "existing")) == "keep me!");
}

TEST_CASE("fail_after Remove keeps the file", "[fault_env]") {
  TempDir dir;
  FaultInjectionEnv env(Env::posix());
  write_durable(&env, (dir / "f"), "x");
  env.fail_after(Op::Remove, 0);
  REQUIRE(catch_error([&] { env.remove_file((dir / "f")); }).code() == Errc::Io);
  REQUIRE(contents((dir / "f")) == "x");
  env.clear_faults();
  env.remove_file((dir / "f"));
  REQUIRE_FALSE(env.file_exists((dir / "f")));
  REQUIRE(env.count(Op::Remove) == 2);
}

TEST_CASE("maybe_fail counts and fails like a wrapped operation", "[fault_env]") {
  FaultInjectionEnv env(Env::posix());
  env.fail_after(Op::Sync, 1, true);
  env.maybe_fail(Op::Sync);
  REQUIRE(catch_error([&] { env.maybe_fail(Op::Sync); }).code() == Errc::NoSpace);
  REQUIRE(env.count(Op::Sync) == 2);
  REQUIRE(env.count(Op::Write) == 0);
}

TEST_CASE("power loss truncates files to their last synced size", "[fault_env][crash]") {
  TempDir dir;
  FaultInjectionEnv env(Env::posix());
  auto f = env.new_writable_file((dir / "log"));
  env.sync_dir(dir.path());  // the creation is durable
  f->append("abc");
  f->sync();
  f->append("def");
  REQUIRE(contents((dir / "log")) == "abcdef");
  f.reset();
  env.drop_unsynced_data();
  REQUIRE(contents((dir / "log")) == "abc");

  // A file never synced loses everything but its (durable) name.
  auto g = env.new_writable_file((dir / "empty"));
  env.sync_dir(dir.path());
  g->append("lost");
  g.reset();
  env.drop_unsynced_data();
  REQUIRE(env.file_exists((dir / "empty")));
  REQUIRE(contents((dir / "empty")).empty());
}

TEST_CASE("power loss deletes files whose directory was not synced", "[fault_env][crash]") {
  TempDir dir;
  FaultInjectionEnv env(Env::posix());
  auto f = env.new_writable_file((dir / "new"));
  f->append("synced but unnamed");
  f->sync();
  f.reset();
  env.drop_unsynced_data();
  REQUIRE_FALSE(env.file_exists((dir / "new")));

  // sync_dir of a different directory does not help.
  env.create_dir((dir / "other"));
  auto g = env.new_writable_file((dir / "new2"));
  g->sync();
  env.sync_dir((dir / "other"));
  g.reset();
  env.drop_unsynced_data();
  REQUIRE_FALSE(env.file_exists((dir / "new2")));

  // Paths are normalised: "dir/./x" is in "dir/".
  auto h = env.new_writable_file(dir.path() + "/./kept");
  h->append("k");
  h->sync();
  env.sync_dir(dir.path() + "/");
  h.reset();
  env.drop_unsynced_data();
  REQUIRE(contents((dir / "kept")) == "k");
}

TEST_CASE("power loss undoes a rename not followed by sync_dir", "[fault_env][crash]") {
  TempDir dir;
  FaultInjectionEnv env(Env::posix());
  write_durable(&env, (dir / "CURRENT"), "old");
  write_durable(&env, (dir / "CURRENT.tmp"), "new");
  env.rename_file((dir / "CURRENT.tmp"), (dir / "CURRENT"));
  REQUIRE(contents((dir / "CURRENT")) == "new");
  env.drop_unsynced_data();
  REQUIRE(contents((dir / "CURRENT")) == "old");
  REQUIRE(contents((dir / "CURRENT.tmp")) == "new");  // its creation was durable

  // With sync_dir the rename survives.
  env.rename_file((dir / "CURRENT.tmp"), (dir / "CURRENT"));
  env.sync_dir(dir.path());
  env.drop_unsynced_data();
  REQUIRE(contents((dir / "CURRENT")) == "new");
  REQUIRE_FALSE(env.file_exists((dir / "CURRENT.tmp")));
}

TEST_CASE("power loss after an unsynced rename to a new name", "[fault_env][crash]") {
  TempDir dir;
  FaultInjectionEnv env(Env::posix());
  // tmp created without sync_dir, synced, renamed; nothing of it is durable.
  auto f = env.new_writable_file((dir / "tmp"));
  f->append("payload");
  f->sync();
  f.reset();
  env.rename_file((dir / "tmp"), (dir / "final"));
  env.drop_unsynced_data();
  REQUIRE_FALSE(env.file_exists((dir / "tmp")));
  REQUIRE_FALSE(env.file_exists((dir / "final")));
}

TEST_CASE("power loss reverts unsynced appends to a renamed file", "[fault_env][crash]") {
  TempDir dir;
  FaultInjectionEnv env(Env::posix());
  write_durable(&env, (dir / "a"), "durable");
  env.rename_file((dir / "a"), (dir / "b"));
  env.sync_dir(dir.path());
  auto f = env.new_appendable_file((dir / "b"));
  f->append("+volatile");
  f.reset();
  env.drop_unsynced_data();
  REQUIRE_FALSE(env.file_exists((dir / "a")));
  REQUIRE(contents((dir / "b")) == "durable");
}

TEST_CASE("power loss undoes removals not followed by sync_dir", "[fault_env][crash]") {
  TempDir dir;
  FaultInjectionEnv env(Env::posix());
  auto f = env.new_writable_file((dir / "f"));
  env.sync_dir(dir.path());
  f->append("synced");
  f->sync();
  f->append("-unsynced");
  f.reset();
  env.remove_file((dir / "f"));
  REQUIRE_FALSE(env.file_exists((dir / "f")));
  env.drop_unsynced_data();
  REQUIRE(contents((dir / "f")) == "synced");  // back, with only durable bytes

  env.remove_file((dir / "f"));
  env.sync_dir(dir.path());
  env.drop_unsynced_data();
  REQUIRE_FALSE(env.file_exists((dir / "f")));
}

TEST_CASE("power loss undoes a chain of renames and removals newest first", "[fault_env][crash]") {
  TempDir dir;
  FaultInjectionEnv env(Env::posix());
  write_durable(&env, (dir / "x"), "X");
  write_durable(&env, (dir / "y"), "Y");
  env.rename_file((dir / "x"), (dir / "y"));    // y = X, old Y captured
  env.remove_file((dir / "y"));                 // X captured
  auto f = env.new_writable_file((dir / "y"));  // a brand-new y
  f->append("fresh");
  f->sync();
  f.reset();
  env.drop_unsynced_data();
  REQUIRE(contents((dir / "x")) == "X");
  REQUIRE(contents((dir / "y")) == "Y");
}

TEST_CASE("write_file_atomic is all-or-nothing across power loss", "[fault_env][crash]") {
  TempDir dir;
  FaultInjectionEnv env(Env::posix());
  const std::string path = (dir / "CURRENT");
  write_file_atomic(&env, path, "v1");
  env.drop_unsynced_data();
  REQUIRE(contents(path) == "v1");

  // The directory sync (the 2nd Sync of the call) fails: the rename is lost.
  env.fail_after(Op::Sync, 1);
  REQUIRE(catch_error([&] { write_file_atomic(&env, path, "v2"); }).code() == Errc::Io);
  env.clear_faults();
  REQUIRE(contents(path) == "v2");  // visible before the crash...
  env.drop_unsynced_data();
  REQUIRE(contents(path) == "v1");  // ...but not durable
  REQUIRE_FALSE(env.file_exists(path + ".tmp"));

  write_file_atomic(&env, path, "v3");
  env.drop_unsynced_data();
  REQUIRE(contents(path) == "v3");
}

TEST_CASE("power loss restores overwritten bytes of a read-write file", "[fault_env][crash]") {
  TempDir dir;
  FaultInjectionEnv env(Env::posix());
  const std::string path = (dir / "container");
  auto f = env.new_read_write_file(path);
  env.sync_dir(dir.path());
  f->write_at(0, "0123456789");
  f->sync();
  f->write_at(2, "ab");    // overwrite of durable bytes
  f->write_at(8, "XYZW");  // half overwrite, half extension
  f->write_at(3, "Q");     // overlaps the first overwrite
  f->punch_hole(5, 2);     // discard durable bytes
  REQUIRE(contents(path).substr(0, 5) == "01aQ4");
  f.reset();
  env.drop_unsynced_data();
  REQUIRE(contents(path) == "0123456789");

  // Truncation is durable at once; saved bytes past the new end are dropped.
  auto g = env.new_read_write_file(path);
  g->write_at(1, "xxxxxx");  // saves "123456"
  g->truncate(4);
  g->write_at(4, "zz");  // unsynced extension
  g.reset();
  env.drop_unsynced_data();
  REQUIRE(contents(path) == "0123");
  g = env.new_read_write_file(path);
  g->write_at(0, "0123456789");
  g->sync();
  g.reset();

  // After a sync the changes stick.
  auto h = env.new_read_write_file(path);
  h->write_at(0, "AB");
  h->truncate(6);
  h->sync();
  h.reset();
  env.drop_unsynced_data();
  REQUIRE(contents(path) == "AB2345");
}

TEST_CASE("truncate_file and O_TRUNC are durable at once", "[fault_env][crash]") {
  TempDir dir;
  FaultInjectionEnv env(Env::posix());
  write_durable(Env::posix(), (dir / "wal"), "record1record2");  // untracked: durable
  env.truncate_file((dir / "wal"), 7);
  env.drop_unsynced_data();
  REQUIRE(contents((dir / "wal")) == "record1");

  // A tracked file with unsynced bytes: truncating below the synced size
  // lowers it, truncating above keeps the unsynced part volatile.
  auto a = env.new_appendable_file((dir / "wal"));
  a->append("record2");
  a->sync();
  a->append("record3");
  a.reset();
  env.truncate_file((dir / "wal"), 18);
  env.drop_unsynced_data();
  REQUIRE(contents((dir / "wal")) == "record1record2");
  env.truncate_file((dir / "wal"), 3);
  env.drop_unsynced_data();
  REQUIRE(contents((dir / "wal")) == "rec");

  auto f = env.new_writable_file((dir / "wal"));  // O_TRUNC of a durable file
  f->append("new");
  f.reset();
  env.drop_unsynced_data();
  REQUIRE(env.file_exists((dir / "wal")));
  REQUIRE(contents((dir / "wal")).empty());

  auto g = env.new_writable_file((dir / "wal"));
  g->append("new");
  g->sync();
  g.reset();
  env.drop_unsynced_data();
  REQUIRE(contents((dir / "wal")) == "new");
}

TEST_CASE("files untouched through the fault env survive power loss", "[fault_env][crash]") {
  TempDir dir;
  auto f = Env::posix()->new_writable_file((dir / "outside"));
  f->append("not tracked");
  f.reset();
  FaultInjectionEnv env(Env::posix());
  env.drop_unsynced_data();
  REQUIRE(contents((dir / "outside")) == "not tracked");
  // Appending through the env tracks from the current (durable) size.
  auto a = env.new_appendable_file((dir / "outside"));
  a->append("+more");
  a.reset();
  env.drop_unsynced_data();
  REQUIRE(contents((dir / "outside")) == "not tracked");
}

TEST_CASE("reset_tracking makes everything so far durable", "[fault_env][crash]") {
  TempDir dir;
  FaultInjectionEnv env(Env::posix());
  auto f = env.new_writable_file((dir / "f"));
  f->append("kept");
  env.rename_file((dir / "f"), (dir / "g"));
  env.reset_tracking();
  // Writes after the reset, through a still-open handle, are tracked again.
  auto g = env.new_appendable_file((dir / "g"));
  g->append("+lost");
  g.reset();
  env.drop_unsynced_data();
  REQUIRE(contents((dir / "g")) == "kept");
  REQUIRE_FALSE(env.file_exists((dir / "f")));
}

TEST_CASE("the state after power loss is itself durable", "[fault_env][crash]") {
  TempDir dir;
  FaultInjectionEnv env(Env::posix());
  auto f = env.new_writable_file((dir / "f"));
  env.sync_dir(dir.path());
  f->append("12");
  f->sync();
  f->append("34");
  f.reset();
  env.drop_unsynced_data();
  env.drop_unsynced_data();  // a second crash changes nothing
  REQUIRE(contents((dir / "f")) == "12");
}

TEST_CASE("the fault env is safe to use from many threads", "[fault_env][threads]") {
  TempDir dir;
  FaultInjectionEnv env(Env::posix());
  constexpr int kThreads = 4;
  constexpr int kWrites = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto f = env.new_writable_file((dir / ("t" + std::to_string(t))));
      for (int i = 0; i < kWrites; ++i) {
        f->append("x");
        if (i % 50 == 0) f->sync();
      }
    });
  }
  for (auto& th : threads) th.join();
  REQUIRE(env.count(Op::Write) == kThreads * kWrites);
  REQUIRE(env.count(Op::Sync) == kThreads * 4);
  REQUIRE(env.count(Op::Create) == kThreads);
  env.sync_dir(dir.path());
  env.drop_unsynced_data();
  for (int t = 0; t < kThreads; ++t) {
    REQUIRE(contents((dir / ("t" + std::to_string(t)))) == std::string(151, 'x'));
  }
}

}  // namespace
}  // namespace flowdb

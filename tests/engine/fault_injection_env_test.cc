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

namespace flowdb {
namespace {

namespace fs = std::filesystem;
using Op = FaultInjectionEnv::Op;

class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = (fs::temp_directory_path() /
             ("flowdb_fault_env_test_" + std::to_string(::getpid()) + "_" +
              std::to_string(counter++) + "_" + std::to_string(std::random_device{}())))
                .string();
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

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
  env.create_dir(dir.file("sub"));
  auto f = env.new_writable_file(dir.file("sub/a"));
  f->append("hello");
  REQUIRE(f->size() == 5);
  f->close();
  REQUIRE(env.file_exists(dir.file("sub/a")));
  REQUIRE(env.get_file_size(dir.file("sub/a")) == 5);
  REQUIRE(env.get_children(dir.file("sub")) == std::vector<std::string>{"a"});
  REQUIRE(read_file_to_string(&env, dir.file("sub/a")) == "hello");
  env.rename_file(dir.file("sub/a"), dir.file("sub/b"));
  REQUIRE(contents(dir.file("sub/b")) == "hello");
  env.truncate_file(dir.file("sub/b"), 2);
  REQUIRE(contents(dir.file("sub/b")) == "he");
  env.remove_file(dir.file("sub/b"));
  REQUIRE_FALSE(env.file_exists(dir.file("sub/b")));
  auto lock = env.lock_file(dir.file("LOCK"));
  REQUIRE(catch_error([&] { env.lock_file(dir.file("LOCK")); }).code() == Errc::Busy);
  REQUIRE(catch_error([&] { env.new_random_access_file(dir.file("nope")); }).code() ==
          Errc::NotFound);
}

TEST_CASE("fail_after Write lets n writes through, then fails without writing", "[fault_env]") {
  TempDir dir;
  FaultInjectionEnv env(Env::posix());
  auto f = env.new_writable_file(dir.file("f"));
  env.fail_after(Op::Write, 2);
  f->append("a");
  f->append("b");
  const Error e = catch_error([&] { f->append("c"); });
  REQUIRE(e.code() == Errc::Io);
  REQUIRE_THAT(e.what(), Catch::Contains(dir.file("f")));
  REQUIRE(catch_error([&] { f->append("d"); }).code() == Errc::Io);  // keeps failing
  REQUIRE(contents(dir.file("f")) == "ab");
  REQUIRE(f->size() == 2);
  REQUIRE(env.count(Op::Write) == 4);  // failed attempts are counted

  env.clear_faults();
  f->append("e");
  REQUIRE(contents(dir.file("f")) == "abe");
  REQUIRE(env.count(Op::Write) == 5);
}

TEST_CASE("fail_after with no_space throws NoSpace", "[fault_env][nospace]") {
  TempDir dir;
  FaultInjectionEnv env(Env::posix());
  auto f = env.new_writable_file(dir.file("f"));
  env.fail_after(Op::Write, 0, /*no_space=*/true);
  const Error e = catch_error([&] { f->append("x"); });
  REQUIRE(e.code() == Errc::NoSpace);
  REQUIRE_THAT(e.what(), Catch::Contains("No space left on device"));
  REQUIRE(contents(dir.file("f")).empty());
}

TEST_CASE("fail_after Write also covers positional writes", "[fault_env]") {
  TempDir dir;
  FaultInjectionEnv env(Env::posix());
  auto f = env.new_read_write_file(dir.file("c"));
  env.fail_after(Op::Write, 1);
  f->write_at(0, "1234");
  REQUIRE(catch_error([&] { f->write_at(2, "xx"); }).code() == Errc::Io);
  REQUIRE(contents(dir.file("c")) == "1234");
  REQUIRE(env.count(Op::Write) == 2);
}

TEST_CASE("fail_after Sync fails file syncs and directory syncs", "[fault_env]") {
  TempDir dir;
  FaultInjectionEnv env(Env::posix());
  auto f = env.new_writable_file(dir.file("f"));
  f->append("data");
  env.fail_after(Op::Sync, 1);
  f->sync();
  REQUIRE(catch_error([&] { f->sync(); }).code() == Errc::Io);
  REQUIRE(catch_error([&] { env.sync_dir(dir.path()); }).code() == Errc::Io);
  REQUIRE(env.count(Op::Sync) == 3);
  env.clear_faults();

  // The failed sync_dir did not make the creation durable.
  env.drop_unsynced_data();
  REQUIRE_FALSE(env.file_exists(dir.file("f")));
}

TEST_CASE("fail_after Rename leaves both names untouched", "[fault_env]") {
  TempDir dir;
  FaultInjectionEnv env(Env::posix());
  write_durable(&env, dir.file("a"), "A");
  write_durable(&env, dir.file("b"), "B");
  env.fail_after(Op::Rename, 0);
  REQUIRE(catch_error([&] { env.rename_file(dir.file("a"), dir.file("b")); }).code() == Errc::Io);
  REQUIRE(contents(dir.file("a")) == "A");
  REQUIRE(contents(dir.file("b")) == "B");
  REQUIRE(env.count(Op::Rename) == 1);
  env.clear_faults();
  env.drop_unsynced_data();  // nothing to undo
  REQUIRE(contents(dir.file("a")) == "A");
  REQUIRE(contents(dir.file("b")) == "B");
}

TEST_CASE("fail_after Create neither creates nor truncates", "[fault_env]") {
  TempDir dir;
  FaultInjectionEnv env(Env::posix());
  write_durable(&env, dir.file("existing"), "keep me");
  env.fail_after(Op::Create, 1);
  auto ok = env.new_read_write_file(dir.file("rw"));
  REQUIRE(catch_error([&] { env.new_writable_file(dir.file("existing")); }).code() == Errc::Io);
  REQUIRE(catch_error([&] { env.new_writable_file(dir.file("new")); }).code() == Errc::Io);
  REQUIRE(catch_error([&] { env.new_read_write_file(dir.file("rw2")); }).code() == Errc::Io);
  REQUIRE(contents(dir.file("existing")) == "keep me");
  REQUIRE_FALSE(env.file_exists(dir.file("new")));
  REQUIRE_FALSE(env.file_exists(dir.file("rw2")));
  REQUIRE(env.count(Op::Create) == 5);  // write_durable's create + 4 here
  // Opening for append is not a creation.
  auto app = env.new_appendable_file(dir.file("existing"));
  app->append("!");
  REQUIRE(contents(dir.file("existing")) == "keep me!");
}

TEST_CASE("fail_after Remove keeps the file", "[fault_env]") {
  TempDir dir;
  FaultInjectionEnv env(Env::posix());
  write_durable(&env, dir.file("f"), "x");
  env.fail_after(Op::Remove, 0);
  REQUIRE(catch_error([&] { env.remove_file(dir.file("f")); }).code() == Errc::Io);
  REQUIRE(contents(dir.file("f")) == "x");
  env.clear_faults();
  env.remove_file(dir.file("f"));
  REQUIRE_FALSE(env.file_exists(dir.file("f")));
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
  auto f = env.new_writable_file(dir.file("log"));
  env.sync_dir(dir.path());  // the creation is durable
  f->append("abc");
  f->sync();
  f->append("def");
  REQUIRE(contents(dir.file("log")) == "abcdef");
  f.reset();
  env.drop_unsynced_data();
  REQUIRE(contents(dir.file("log")) == "abc");

  // A file never synced loses everything but its (durable) name.
  auto g = env.new_writable_file(dir.file("empty"));
  env.sync_dir(dir.path());
  g->append("lost");
  g.reset();
  env.drop_unsynced_data();
  REQUIRE(env.file_exists(dir.file("empty")));
  REQUIRE(contents(dir.file("empty")).empty());
}

TEST_CASE("power loss deletes files whose directory was not synced", "[fault_env][crash]") {
  TempDir dir;
  FaultInjectionEnv env(Env::posix());
  auto f = env.new_writable_file(dir.file("new"));
  f->append("synced but unnamed");
  f->sync();
  f.reset();
  env.drop_unsynced_data();
  REQUIRE_FALSE(env.file_exists(dir.file("new")));

  // sync_dir of a different directory does not help.
  env.create_dir(dir.file("other"));
  auto g = env.new_writable_file(dir.file("new2"));
  g->sync();
  env.sync_dir(dir.file("other"));
  g.reset();
  env.drop_unsynced_data();
  REQUIRE_FALSE(env.file_exists(dir.file("new2")));

  // Paths are normalised: "dir/./x" is in "dir/".
  auto h = env.new_writable_file(dir.path() + "/./kept");
  h->append("k");
  h->sync();
  env.sync_dir(dir.path() + "/");
  h.reset();
  env.drop_unsynced_data();
  REQUIRE(contents(dir.file("kept")) == "k");
}

TEST_CASE("power loss undoes a rename not followed by sync_dir", "[fault_env][crash]") {
  TempDir dir;
  FaultInjectionEnv env(Env::posix());
  write_durable(&env, dir.file("CURRENT"), "old");
  write_durable(&env, dir.file("CURRENT.tmp"), "new");
  env.rename_file(dir.file("CURRENT.tmp"), dir.file("CURRENT"));
  REQUIRE(contents(dir.file("CURRENT")) == "new");
  env.drop_unsynced_data();
  REQUIRE(contents(dir.file("CURRENT")) == "old");
  REQUIRE(contents(dir.file("CURRENT.tmp")) == "new");  // its creation was durable

  // With sync_dir the rename survives.
  env.rename_file(dir.file("CURRENT.tmp"), dir.file("CURRENT"));
  env.sync_dir(dir.path());
  env.drop_unsynced_data();
  REQUIRE(contents(dir.file("CURRENT")) == "new");
  REQUIRE_FALSE(env.file_exists(dir.file("CURRENT.tmp")));
}

TEST_CASE("power loss after an unsynced rename to a new name", "[fault_env][crash]") {
  TempDir dir;
  FaultInjectionEnv env(Env::posix());
  // tmp created without sync_dir, synced, renamed; nothing of it is durable.
  auto f = env.new_writable_file(dir.file("tmp"));
  f->append("payload");
  f->sync();
  f.reset();
  env.rename_file(dir.file("tmp"), dir.file("final"));
  env.drop_unsynced_data();
  REQUIRE_FALSE(env.file_exists(dir.file("tmp")));
  REQUIRE_FALSE(env.file_exists(dir.file("final")));
}

TEST_CASE("power loss reverts unsynced appends to a renamed file", "[fault_env][crash]") {
  TempDir dir;
  FaultInjectionEnv env(Env::posix());
  write_durable(&env, dir.file("a"), "durable");
  env.rename_file(dir.file("a"), dir.file("b"));
  env.sync_dir(dir.path());
  auto f = env.new_appendable_file(dir.file("b"));
  f->append("+volatile");
  f.reset();
  env.drop_unsynced_data();
  REQUIRE_FALSE(env.file_exists(dir.file("a")));
  REQUIRE(contents(dir.file("b")) == "durable");
}

TEST_CASE("power loss undoes removals not followed by sync_dir", "[fault_env][crash]") {
  TempDir dir;
  FaultInjectionEnv env(Env::posix());
  auto f = env.new_writable_file(dir.file("f"));
  env.sync_dir(dir.path());
  f->append("synced");
  f->sync();
  f->append("-unsynced");
  f.reset();
  env.remove_file(dir.file("f"));
  REQUIRE_FALSE(env.file_exists(dir.file("f")));
  env.drop_unsynced_data();
  REQUIRE(contents(dir.file("f")) == "synced");  // back, with only durable bytes

  env.remove_file(dir.file("f"));
  env.sync_dir(dir.path());
  env.drop_unsynced_data();
  REQUIRE_FALSE(env.file_exists(dir.file("f")));
}

TEST_CASE("power loss undoes a chain of renames and removals newest first", "[fault_env][crash]") {
  TempDir dir;
  FaultInjectionEnv env(Env::posix());
  write_durable(&env, dir.file("x"), "X");
  write_durable(&env, dir.file("y"), "Y");
  env.rename_file(dir.file("x"), dir.file("y"));  // y = X, old Y captured
  env.remove_file(dir.file("y"));                 // X captured
  auto f = env.new_writable_file(dir.file("y"));  // a brand-new y
  f->append("fresh");
  f->sync();
  f.reset();
  env.drop_unsynced_data();
  REQUIRE(contents(dir.file("x")) == "X");
  REQUIRE(contents(dir.file("y")) == "Y");
}

TEST_CASE("write_file_atomic is all-or-nothing across power loss", "[fault_env][crash]") {
  TempDir dir;
  FaultInjectionEnv env(Env::posix());
  const std::string path = dir.file("CURRENT");
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
  const std::string path = dir.file("container");
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
  write_durable(Env::posix(), dir.file("wal"), "record1record2");  // untracked: durable
  env.truncate_file(dir.file("wal"), 7);
  env.drop_unsynced_data();
  REQUIRE(contents(dir.file("wal")) == "record1");

  // A tracked file with unsynced bytes: truncating below the synced size
  // lowers it, truncating above keeps the unsynced part volatile.
  auto a = env.new_appendable_file(dir.file("wal"));
  a->append("record2");
  a->sync();
  a->append("record3");
  a.reset();
  env.truncate_file(dir.file("wal"), 18);
  env.drop_unsynced_data();
  REQUIRE(contents(dir.file("wal")) == "record1record2");
  env.truncate_file(dir.file("wal"), 3);
  env.drop_unsynced_data();
  REQUIRE(contents(dir.file("wal")) == "rec");

  auto f = env.new_writable_file(dir.file("wal"));  // O_TRUNC of a durable file
  f->append("new");
  f.reset();
  env.drop_unsynced_data();
  REQUIRE(env.file_exists(dir.file("wal")));
  REQUIRE(contents(dir.file("wal")).empty());

  auto g = env.new_writable_file(dir.file("wal"));
  g->append("new");
  g->sync();
  g.reset();
  env.drop_unsynced_data();
  REQUIRE(contents(dir.file("wal")) == "new");
}

TEST_CASE("files untouched through the fault env survive power loss", "[fault_env][crash]") {
  TempDir dir;
  auto f = Env::posix()->new_writable_file(dir.file("outside"));
  f->append("not tracked");
  f.reset();
  FaultInjectionEnv env(Env::posix());
  env.drop_unsynced_data();
  REQUIRE(contents(dir.file("outside")) == "not tracked");
  // Appending through the env tracks from the current (durable) size.
  auto a = env.new_appendable_file(dir.file("outside"));
  a->append("+more");
  a.reset();
  env.drop_unsynced_data();
  REQUIRE(contents(dir.file("outside")) == "not tracked");
}

TEST_CASE("reset_tracking makes everything so far durable", "[fault_env][crash]") {
  TempDir dir;
  FaultInjectionEnv env(Env::posix());
  auto f = env.new_writable_file(dir.file("f"));
  f->append("kept");
  env.rename_file(dir.file("f"), dir.file("g"));
  env.reset_tracking();
  // Writes after the reset, through a still-open handle, are tracked again.
  auto g = env.new_appendable_file(dir.file("g"));
  g->append("+lost");
  g.reset();
  env.drop_unsynced_data();
  REQUIRE(contents(dir.file("g")) == "kept");
  REQUIRE_FALSE(env.file_exists(dir.file("f")));
}

TEST_CASE("the state after power loss is itself durable", "[fault_env][crash]") {
  TempDir dir;
  FaultInjectionEnv env(Env::posix());
  auto f = env.new_writable_file(dir.file("f"));
  env.sync_dir(dir.path());
  f->append("12");
  f->sync();
  f->append("34");
  f.reset();
  env.drop_unsynced_data();
  env.drop_unsynced_data();  // a second crash changes nothing
  REQUIRE(contents(dir.file("f")) == "12");
}

TEST_CASE("the fault env is safe to use from many threads", "[fault_env][threads]") {
  TempDir dir;
  FaultInjectionEnv env(Env::posix());
  constexpr int kThreads = 4;
  constexpr int kWrites = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto f = env.new_writable_file(dir.file("t" + std::to_string(t)));
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
    REQUIRE(contents(dir.file("t" + std::to_string(t))) == std::string(151, 'x'));
  }
}

}  // namespace
}  // namespace flowdb

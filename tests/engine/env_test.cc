#include "flowdb/env.h"

#include <sys/wait.h>
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
#include "flowdb/fault_injection_env.h"
#include "temp_dir.h"

namespace flowdb {
namespace {

using flowdb::testing::TempDir;

namespace fs = std::filesystem;

void write_file(Env* env, const std::string& path, std::string_view contents) {
  auto f = env->new_writable_file(path);
  f->append(contents);
  f->close();
}

// Runs `fn`, which must throw flowdb::Error, and returns the error.
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

TEST_CASE("errc_name returns the enumerator name", "[error]") {
  REQUIRE(errc_name(Errc::Io) == "Io");
  REQUIRE(errc_name(Errc::Corruption) == "Corruption");
  REQUIRE(errc_name(Errc::InvalidArgument) == "InvalidArgument");
  REQUIRE(errc_name(Errc::NotFound) == "NotFound");
  REQUIRE(errc_name(Errc::Closed) == "Closed");
  REQUIRE(errc_name(Errc::Busy) == "Busy");
  REQUIRE(errc_name(Errc::NoSpace) == "NoSpace");
  REQUIRE(errc_name(Errc::DataError) == "DataError");
  REQUIRE(errc_name(Errc::ConstraintError) == "ConstraintError");
  REQUIRE(errc_name(Errc::ReadOnlyError) == "ReadOnlyError");
  REQUIRE(errc_name(Errc::NotFoundError) == "NotFoundError");
  REQUIRE(errc_name(Errc::InvalidAccessError) == "InvalidAccessError");
  REQUIRE(errc_name(Errc::InvalidStateError) == "InvalidStateError");
  REQUIRE(errc_name(Errc::TransactionInactiveError) == "TransactionInactiveError");
  REQUIRE(errc_name(Errc::SyntaxError) == "SyntaxError");
  REQUIRE(errc_name(Errc::Conflict) == "Conflict");
}

TEST_CASE("Error carries its code and exactly the caller's message", "[error]") {
  const Error e(Errc::Corruption, "wal/000001.log: bad record at offset 7");
  REQUIRE(e.code() == Errc::Corruption);
  REQUIRE(std::string(e.what()) == "wal/000001.log: bad record at offset 7");
  const Error copy = e;
  REQUIRE(copy.code() == Errc::Corruption);
  REQUIRE(std::string(copy.what()) == e.what());
}

TEST_CASE("a written file reads back through a random-access file", "[env]") {
  TempDir dir;
  Env* env = Env::posix();
  const std::string path = (dir / "data");
  auto w = env->new_writable_file(path);
  REQUIRE(w->size() == 0);
  w->append("hello ");
  w->append("");
  w->append("world");
  REQUIRE(w->size() == 11);
  w->sync();
  w->close();

  REQUIRE(env->file_exists(path));
  REQUIRE(env->get_file_size(path) == 11);
  auto r = env->new_random_access_file(path);
  REQUIRE(r->size() == 11);
  char buf[32];
  REQUIRE(r->read(0, 11, buf) == 11);
  REQUIRE(std::string(buf, 11) == "hello world");
  REQUIRE(r->read(6, 3, buf) == 3);
  REQUIRE(std::string(buf, 3) == "wor");
  REQUIRE(read_file_to_string(env, path) == "hello world");
}

TEST_CASE("appended bytes are visible to readers before sync or close", "[env]") {
  TempDir dir;
  Env* env = Env::posix();
  const std::string path = (dir / "log");
  auto w = env->new_writable_file(path);
  w->append("abc");
  // No user-space buffering: another handle sees the bytes immediately.
  REQUIRE(read_file_to_string(env, path) == "abc");
  w->append("def");
  REQUIRE(env->get_file_size(path) == 6);
  REQUIRE(read_file_to_string(env, path) == "abcdef");
}

TEST_CASE("new_writable_file truncates an existing file", "[env]") {
  TempDir dir;
  Env* env = Env::posix();
  const std::string path = (dir / "f");
  write_file(env, path, "old contents");
  auto w = env->new_writable_file(path);
  REQUIRE(w->size() == 0);
  REQUIRE(env->get_file_size(path) == 0);
  w->append("new");
  w->close();
  REQUIRE(read_file_to_string(env, path) == "new");
}

TEST_CASE("new_appendable_file continues at the end of the file", "[env]") {
  TempDir dir;
  Env* env = Env::posix();
  const std::string path = (dir / "f");
  write_file(env, path, "12345");
  auto a = env->new_appendable_file(path);
  REQUIRE(a->size() == 5);
  a->append("678");
  REQUIRE(a->size() == 8);
  a->sync();
  a->close();
  REQUIRE(read_file_to_string(env, path) == "12345678");
}

TEST_CASE("random-access reads are short only at end of file", "[env]") {
  TempDir dir;
  Env* env = Env::posix();
  const std::string path = (dir / "f");
  write_file(env, path, "0123456789");
  auto r = env->new_random_access_file(path);
  char buf[16];
  REQUIRE(r->read(7, 10, buf) == 3);
  REQUIRE(std::string(buf, 3) == "789");
  REQUIRE(r->read(10, 5, buf) == 0);
  REQUIRE(r->read(1000, 5, buf) == 0);
  REQUIRE(r->read(0, 0, buf) == 0);
}

TEST_CASE("a random-access file serves concurrent readers", "[env]") {
  TempDir dir;
  Env* env = Env::posix();
  const std::string path = (dir / "f");
  std::string data(256 * 1024, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 131 + 7);
  write_file(env, path, data);
  auto r = env->new_random_access_file(path);
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::string buf(4096, '\0');
      for (uint64_t off = static_cast<uint64_t>(t) * 4096; off < data.size(); off += 4 * 4096) {
        size_t n = r->read(off, buf.size(), buf.data());
        if (n != buf.size() || buf != data.substr(off, n)) ++mismatches;
      }
    });
  }
  for (auto& th : threads) th.join();
  REQUIRE(mismatches.load() == 0);
}

TEST_CASE("opening a missing file for reading throws NotFound naming the path", "[env]") {
  TempDir dir;
  const std::string path = (dir / "missing");
  const Error e = catch_error([&] { Env::posix()->new_random_access_file(path); });
  REQUIRE(e.code() == Errc::NotFound);
  REQUIRE_THAT(e.what(), Catch::Contains(path));
  REQUIRE_THAT(e.what(), Catch::Contains("No such file or directory"));
}

TEST_CASE("missing files are NotFound for append, size and remove", "[env]") {
  TempDir dir;
  Env* env = Env::posix();
  const std::string path = (dir / "missing");
  REQUIRE_FALSE(env->file_exists(path));
  REQUIRE(catch_error([&] { env->new_appendable_file(path); }).code() == Errc::NotFound);
  REQUIRE(catch_error([&] { env->get_file_size(path); }).code() == Errc::NotFound);
  REQUIRE(catch_error([&] { env->remove_file(path); }).code() == Errc::NotFound);
  REQUIRE(catch_error([&] { env->get_children(path); }).code() == Errc::NotFound);
  REQUIRE(catch_error([&] { env->sync_dir(path); }).code() == Errc::NotFound);
  REQUIRE_FALSE(env->file_exists(path));  // none of these created it
}

TEST_CASE("other OS errors map to Io with the path and strerror text", "[env]") {
  TempDir dir;
  Env* env = Env::posix();
  const std::string file = (dir / "plain");
  write_file(env, file, "x");
  // A regular file used as a directory: ENOTDIR.
  const Error e = catch_error([&] { env->new_writable_file(file + "/child"); });
  REQUIRE(e.code() == Errc::Io);
  REQUIRE_THAT(e.what(), Catch::Contains(file + "/child"));
  REQUIRE_THAT(e.what(), Catch::Contains("Not a directory"));
}

TEST_CASE("get_children lists entries without . and ..", "[env]") {
  TempDir dir;
  Env* env = Env::posix();
  REQUIRE(env->get_children(dir.path()).empty());
  write_file(env, (dir / "a"), "");
  write_file(env, (dir / "b.log"), "");
  env->create_dir((dir / "sub"));
  auto names = env->get_children(dir.path());
  std::sort(names.begin(), names.end());
  REQUIRE(names == std::vector<std::string>{"a", "b.log", "sub"});
}

TEST_CASE("create_dir creates missing parents and accepts existing directories", "[env]") {
  TempDir dir;
  Env* env = Env::posix();
  const std::string deep = (dir / "x/y/z");
  env->create_dir(deep);
  REQUIRE(fs::is_directory(deep));
  env->create_dir(deep);  // idempotent
  env->create_dir((dir / "x/y/z/"));
  REQUIRE(fs::is_directory(deep));

  write_file(env, (dir / "file"), "x");
  const Error e = catch_error([&] { env->create_dir((dir / "file/sub")); });
  REQUIRE(e.code() == Errc::Io);
  const Error e2 = catch_error([&] { env->create_dir((dir / "file")); });
  REQUIRE(e2.code() == Errc::Io);
  REQUIRE_THAT(e2.what(), Catch::Contains((dir / "file")));
}

TEST_CASE("rename_file replaces the destination and remove_file deletes", "[env]") {
  TempDir dir;
  Env* env = Env::posix();
  write_file(env, (dir / "a"), "new");
  write_file(env, (dir / "b"), "old");
  env->rename_file((dir / "a"), (dir / "b"));
  REQUIRE_FALSE(env->file_exists((dir / "a")));
  REQUIRE(read_file_to_string(env, (dir / "b")) == "new");
  env->sync_dir(dir.path());

  env->remove_file((dir / "b"));
  REQUIRE_FALSE(env->file_exists((dir / "b")));
  const Error e = catch_error([&] { env->rename_file((dir / "a"), (dir / "c")); });
  REQUIRE(e.code() == Errc::NotFound);
  REQUIRE_THAT(e.what(), Catch::Contains((dir / "a")));
}

TEST_CASE("truncate_file shrinks and extends with zeros", "[env]") {
  TempDir dir;
  Env* env = Env::posix();
  const std::string path = (dir / "f");
  write_file(env, path, "0123456789");
  env->truncate_file(path, 4);
  REQUIRE(read_file_to_string(env, path) == "0123");
  env->truncate_file(path, 6);
  REQUIRE(read_file_to_string(env, path) == std::string("0123\0\0", 6));
}

TEST_CASE("a read-write file supports positional writes, truncate and sync", "[env]") {
  TempDir dir;
  Env* env = Env::posix();
  const std::string path = (dir / "container");
  {
    auto f = env->new_read_write_file(path);  // created
    REQUIRE(f->size() == 0);
    f->write_at(0, "aaaaaaaaaa");
    f->write_at(4, "BB");
    f->write_at(12, "zz");  // leaves a zero gap at 10..11
    REQUIRE(f->size() == 14);
    f->sync();
    char buf[16];
    REQUIRE(f->read(0, 16, buf) == 14);
    REQUIRE(std::string(buf, 14) == std::string("aaaaBBaaaa\0\0zz", 14));
    f->truncate(6);
    REQUIRE(f->size() == 6);
  }
  auto f = env->new_read_write_file(path);  // reopened, not truncated
  REQUIRE(f->size() == 6);
  REQUIRE(read_file_to_string(env, path) == "aaaaBB");
}

TEST_CASE("punch_hole keeps the size and releases the range", "[env]") {
  TempDir dir;
  Env* env = Env::posix();
  const std::string path = (dir / "container");
  const std::string data(64 * 1024, 'q');
  auto f = env->new_read_write_file(path);
  f->write_at(0, data);
  f->sync();
  f->punch_hole(4096, 8192);
  f->punch_hole(0, 0);  // empty range: no-op
  REQUIRE(f->size() == data.size());
  const std::string after = read_file_to_string(env, path);
  REQUIRE(after.size() == data.size());
  REQUIRE(after.substr(0, 4096) == data.substr(0, 4096));
  REQUIRE(after.substr(12288) == data.substr(12288));
  // Zeros where holes are supported; unchanged where they are not.
  const std::string hole = after.substr(4096, 8192);
  REQUIRE((hole == std::string(8192, '\0') || hole == data.substr(4096, 8192)));
}

TEST_CASE("a closed writable file rejects further use", "[env]") {
  TempDir dir;
  auto w = Env::posix()->new_writable_file((dir / "f"));
  w->append("x");
  w->close();
  w->close();  // harmless
  REQUIRE(catch_error([&] { w->append("y"); }).code() == Errc::Io);
  REQUIRE(catch_error([&] { w->sync(); }).code() == Errc::Io);
}

TEST_CASE("a second lock on the same file in one process is Busy", "[env][lock]") {
  TempDir dir;
  Env* env = Env::posix();
  const std::string path = (dir / "LOCK");
  auto lock = env->lock_file(path);
  REQUIRE(env->file_exists(path));
  const Error e = catch_error([&] { env->lock_file(path); });
  REQUIRE(e.code() == Errc::Busy);
  REQUIRE_THAT(e.what(), Catch::Contains("data directory " + dir.path()));
  REQUIRE_THAT(e.what(), Catch::Contains("is locked by another process"));
  lock.reset();
  auto again = env->lock_file(path);  // released on destruction
  REQUIRE(again != nullptr);
}

TEST_CASE("shared locks coexist and exclude an exclusive one, which excludes them", "[env][lock]") {
  TempDir dir;
  Env* env = Env::posix();
  const std::string path = (dir / "LOCK");
  REQUIRE(catch_error([&] { env->lock_file_shared(path); }).code() == Errc::NotFound);
  REQUIRE_FALSE(env->file_exists(path));  // a shared lock never creates the file
  auto exclusive = env->lock_file(path);
  const Error held = catch_error([&] { env->lock_file_shared(path); });
  REQUIRE(held.code() == Errc::Busy);
  REQUIRE_THAT(held.what(), Catch::Contains("locked for writing by another process"));
  exclusive.reset();
  auto a = env->lock_file_shared(path);
  auto b = env->lock_file_shared(path);
  const Error shared = catch_error([&] { env->lock_file(path); });
  REQUIRE(shared.code() == Errc::Busy);
  REQUIRE_THAT(shared.what(), Catch::Contains("a writer or a read-only reader"));
  a.reset();
  REQUIRE(catch_error([&] { env->lock_file(path); }).code() == Errc::Busy);  // b still holds it
  b.reset();
  REQUIRE(env->lock_file(path) != nullptr);
}

TEST_CASE("a lock held by another process is Busy until it exits", "[env][lock]") {
  TempDir dir;
  Env* env = Env::posix();
  const std::string path = (dir / "LOCK");
  int ready[2], release[2];
  REQUIRE(::pipe(ready) == 0);
  REQUIRE(::pipe(release) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // Child: take the lock, report, then hold it until the parent says so.
    int code = 0;
    try {
      auto lock = Env::posix()->lock_file(path);
      char c = 'L';
      if (::write(ready[1], &c, 1) != 1) code = 2;
      if (::read(release[0], &c, 1) != 1) code = 3;
    } catch (...) {
      code = 1;
    }
    ::_exit(code);
  }
  ::close(ready[1]);
  ::close(release[0]);
  char c = 0;
  REQUIRE(::read(ready[0], &c, 1) == 1);
  REQUIRE(c == 'L');
  const Error e = catch_error([&] { env->lock_file(path); });
  REQUIRE(e.code() == Errc::Busy);
  REQUIRE_THAT(e.what(), Catch::Contains("is locked by another process"));

  REQUIRE(::write(release[1], &c, 1) == 1);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  ::close(ready[0]);
  ::close(release[1]);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  auto lock = env->lock_file(path);  // the child's exit released it
  REQUIRE(lock != nullptr);
}

TEST_CASE("writes to a full device throw NoSpace", "[env][nospace]") {
  Env* env = Env::posix();
  if (!env->file_exists("/dev/full")) {
    WARN("/dev/full is not available; skipping");
    return;
  }
  auto f = env->new_writable_file("/dev/full");
  const Error e = catch_error([&] { f->append(std::string(100, 'x')); });
  REQUIRE(e.code() == Errc::NoSpace);
  REQUIRE_THAT(e.what(), Catch::Contains("/dev/full"));
  REQUIRE_THAT(e.what(), Catch::Contains("No space left on device"));
}

TEST_CASE("write_file_atomic replaces contents and leaves no temp file", "[env]") {
  TempDir dir;
  Env* env = Env::posix();
  const std::string path = (dir / "CURRENT");
  write_file_atomic(env, path, "MANIFEST-000001\n");
  REQUIRE(read_file_to_string(env, path) == "MANIFEST-000001\n");
  write_file_atomic(env, path, "MANIFEST-000002\n");
  REQUIRE(read_file_to_string(env, path) == "MANIFEST-000002\n");
  REQUIRE(env->get_children(dir.path()) == std::vector<std::string>{"CURRENT"});
  write_file_atomic(env, path, "");
  REQUIRE(read_file_to_string(env, path).empty());
}

TEST_CASE("write_file_atomic keeps the old file when the rename fails", "[env]") {
  TempDir dir;
  FaultInjectionEnv env(Env::posix());
  const std::string path = (dir / "CURRENT");
  write_file_atomic(&env, path, "old");
  env.fail_after(FaultInjectionEnv::Op::Rename, 0);
  const Error e = catch_error([&] { write_file_atomic(&env, path, "new"); });
  REQUIRE(e.code() == Errc::Io);
  REQUIRE(read_file_to_string(&env, path) == "old");
  REQUIRE_FALSE(env.file_exists(path + ".tmp"));
}

TEST_CASE("write_file_atomic reports NoSpace from the underlying write", "[env][nospace]") {
  TempDir dir;
  FaultInjectionEnv env(Env::posix());
  const std::string path = (dir / "OPTIONS");
  env.fail_after(FaultInjectionEnv::Op::Write, 0, /*no_space=*/true);
  const Error e = catch_error([&] { write_file_atomic(&env, path, "contents"); });
  REQUIRE(e.code() == Errc::NoSpace);
  REQUIRE_FALSE(env.file_exists(path));
  REQUIRE_FALSE(env.file_exists(path + ".tmp"));
}

TEST_CASE("read_file_to_string reads files spanning many chunks", "[env]") {
  TempDir dir;
  Env* env = Env::posix();
  std::string data(300 * 1024 + 17, '\0');
  std::mt19937 rng(3);
  for (auto& ch : data) ch = static_cast<char>(rng());
  write_file(env, (dir / "big"), data);
  REQUIRE(read_file_to_string(env, (dir / "big")) == data);
  write_file(env, (dir / "empty"), "");
  REQUIRE(read_file_to_string(env, (dir / "empty")).empty());
  // Exactly one chunk: the reader must still find the end.
  write_file(env, (dir / "chunk"), std::string(64 * 1024, 'c'));
  REQUIRE(read_file_to_string(env, (dir / "chunk")) == std::string(64 * 1024, 'c'));
}

}  // namespace
}  // namespace flowdb

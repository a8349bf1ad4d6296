// Transactions: atomic commit, abort, read-your-writes, snapshots, errors,
// serialised writers, request-level rollback and crash atomicity.
// Derived from WPT IndexedDB/transaction-abort-generator-revert.any.js,
// transaction-abort-index-metadata-revert, idbtransaction_abort.any.js,
// idbobjectstore_put (ReadOnlyError), transaction-lifetime*, and
// idbdatabase_transaction*.any.js (scope errors).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "jsondb_test_util.h"

using namespace flowdb;
using namespace flowdb::jsondb;
using namespace flowdb::jsondb::testing;

TEST_CASE("jsondb txn: commit is atomic, abort reverts data, indexes, generator", "[jsondb][txn]") {
  DbFixture f;
  f.db->create_object_store("s", KeyPath("id"), true);
  f.db->create_index("s", "ix", "k");
  f.db->put("s", J(R"({"k":"a"})"));  // id 1
  {
    auto t = f.db->transaction({"s"}, TransactionMode::ReadWrite);
    CHECK(t.put("s", J(R"({"k":"b"})")) == J("2"));
    CHECK(t.put("s", J(R"({"k":"c"})")) == J("3"));
    t.remove("s", J("1"));
    t.abort();
    CHECK_FALSE(t.active());
  }
  CHECK(f.db->count("s") == 1);
  CHECK(f.db->get_by_index("s", "ix", J("\"b\"")).empty());
  CHECK(f.db->get_by_index("s", "ix", J("\"a\"")).size() == 1);
  // WPT transaction-abort-generator-revert: the generator is rolled back too
  CHECK(f.db->put("s", J(R"({"k":"d"})")) == J("2"));
  {
    auto t = f.db->transaction({"s"}, TransactionMode::ReadWrite);
    t.put("s", J(R"({"k":"e"})"));
    // destroyed without commit: aborts
  }
  CHECK(f.db->put("s", J(R"({"k":"f"})")) == J("3"));
  {
    auto t = f.db->transaction({"s"}, TransactionMode::ReadWrite);
    t.put("s", J(R"({"k":"g"})"));
    t.clear("s");
    t.put("s", J(R"({"k":"h"})"));
    t.commit();
  }
  CHECK(f.db->count("s") == 1);
  CHECK(f.db->get_all("s")[0].at("k") == J("\"h\""));
  CHECK(f.db->get_by_index("s", "ix", J("\"a\"")).empty());
}

TEST_CASE("jsondb txn: read-your-own-writes", "[jsondb][txn]") {
  DbFixture f;
  f.db->create_object_store("s");
  f.db->create_index("s", "ix", "k");
  f.db->put("s", J(R"({"k":1})"), J("\"a\""));
  auto t = f.db->transaction({"s"}, TransactionMode::ReadWrite);
  t.put("s", J(R"({"k":2})"), J("\"b\""));
  t.put("s", J(R"({"k":2})"), J("\"a\""));
  CHECK(t.get("s", J("\"a\""))->at("k") == J("2"));
  CHECK(t.count("s") == 2);
  CHECK(t.get_by_index("s", "ix", J("2")).size() == 2);
  CHECK(t.get_by_index("s", "ix", J("1")).empty());
  CHECK(t.get_all_keys("s") == std::vector<value>{J("\"a\""), J("\"b\"")});
  // others do not see them yet
  CHECK(f.db->get("s", J("\"a\""))->at("k") == J("1"));
  CHECK_FALSE(f.db->get("s", J("\"b\"")).has_value());
  t.commit();
  CHECK(f.db->get("s", J("\"a\""))->at("k") == J("2"));
  CHECK(f.db->count("s") == 2);
}

TEST_CASE("jsondb txn: read-only transactions", "[jsondb][txn]") {
  DbFixture f;
  f.db->create_object_store("s");
  f.db->put("s", J("1"), J("1"));
  auto ro = f.db->transaction({"s"}, TransactionMode::ReadOnly);
  CHECK_ERRC(ro.put("s", J("2"), J("2")), ReadOnlyError);
  CHECK_ERRC(ro.add("s", J("2"), J("2")), ReadOnlyError);
  CHECK_ERRC(ro.remove("s", J("1")), ReadOnlyError);
  CHECK_ERRC(ro.clear("s"), ReadOnlyError);
  // a stable snapshot: later commits are invisible
  f.db->put("s", J("2"), J("2"));
  f.db->remove("s", J("1"));
  CHECK(ro.get("s", J("1")) == J("1"));
  CHECK_FALSE(ro.get("s", J("2")).has_value());
  CHECK(ro.count("s") == 1);
  CHECK(ro.get_all_keys("s") == std::vector<value>{J("1")});
  ro.commit();
  CHECK_ERRC(ro.get("s", J("1")), TransactionInactiveError);
}

TEST_CASE("jsondb txn: inactive, scope and lock errors", "[jsondb][txn]") {
  DbFixture f;
  f.db->create_object_store("a");
  f.db->create_object_store("b");
  CHECK_ERRC(f.db->transaction({}, TransactionMode::ReadOnly), InvalidAccessError);
  CHECK_ERRC(f.db->transaction({"a", "zz"}, TransactionMode::ReadOnly), NotFoundError);
  auto t = f.db->transaction({"a"}, TransactionMode::ReadWrite);
  CHECK_ERRC(t.put("b", J("1"), J("1")), NotFoundError);  // out of scope
  // this thread holds the writer lock: a nested write would deadlock
  CHECK_ERRC(f.db->put("a", J("1"), J("1")), InvalidStateError);
  CHECK_ERRC(f.db->transaction({"b"}, TransactionMode::ReadWrite), InvalidStateError);
  CHECK(f.db->get("a", J("1")) == std::nullopt);  // reads are fine
  t.put("a", J("1"), J("1"));
  t.commit();
  CHECK_ERRC(t.put("a", J("1"), J("2")), TransactionInactiveError);
  CHECK_ERRC(t.get("a", J("1")), TransactionInactiveError);
  CHECK_ERRC(t.commit(), TransactionInactiveError);
  CHECK_ERRC(t.abort(), InvalidStateError);
  f.db->put("a", J("2"), J("1"));  // lock released
  CHECK(f.db->get("a", J("1")) == J("2"));
}

TEST_CASE("jsondb txn: a failed request reverts only itself", "[jsondb][txn]") {
  DbFixture f;
  f.db->create_object_store("s", KeyPath("id"));
  f.db->create_index("s", "u", "u", true);
  f.db->put("s", J(R"({"id":1,"u":"x"})"));
  auto t = f.db->transaction({"s"}, TransactionMode::ReadWrite);
  t.put("s", J(R"({"id":2,"u":"y"})"));
  CHECK_ERRC(t.put("s", J(R"({"id":3,"u":"x"})")), ConstraintError);
  CHECK_ERRC(t.add("s", J(R"({"id":2,"u":"z"})")), ConstraintError);
  CHECK_ERRC(t.put("s", J(R"({"u":"w"})")), DataError);
  t.put("s", J(R"({"id":4,"u":"z"})"));
  t.commit();
  CHECK(f.db->count("s") == 3);
  CHECK(f.db->get_by_index("s", "u", J("\"y\"")).size() == 1);
  CHECK_FALSE(f.db->get("s", J("3")).has_value());
}

TEST_CASE("jsondb txn: read-write transactions are serialised", "[jsondb][txn]") {
  DbFixture f;
  f.db->create_object_store("c");
  f.db->put("c", J("0"), J("\"n\""));
  std::vector<std::thread> threads;
  for (int w = 0; w < 4; ++w) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        auto t = f.db->transaction({"c"}, TransactionMode::ReadWrite);
        int64_t n = t.get("c", J("\"n\""))->as_int64();
        t.put("c", value(n + 1), J("\"n\""));
        t.commit();
      }
    });
  }
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100; ++i) {
        auto ro = f.db->transaction({"c"}, TransactionMode::ReadOnly);
        int64_t a = ro.get("c", J("\"n\""))->as_int64();
        int64_t b = ro.get("c", J("\"n\""))->as_int64();
        CHECK(a == b);
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(f.db->get("c", J("\"n\"")) == J("200"));
}

TEST_CASE("jsondb txn: after kill -9 a transaction is wholly present or absent",
          "[jsondb][txn][crash]") {
  DbFixture f;
  f.db->create_object_store("s", KeyPath("id"));
  f.db->create_index("s", "ix", "g");
  f.db.reset();
  const Config cfg = f.config();
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    auto db = JsonDB::open(cfg);
    auto t = db->transaction({"s"}, TransactionMode::ReadWrite);
    for (int i = 0; i < 300; ++i) t.put("s", value({{"id", i}, {"g", i % 3}}));
    t.commit();  // acknowledged: in the OS before returning (interval sync)
    auto t2 = db->transaction({"s"}, TransactionMode::ReadWrite);
    for (int i = 300; i < 600; ++i) t2.put("s", value({{"id", i}, {"g", 7}}));
    raise(SIGKILL);  // never committed
    _exit(1);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  REQUIRE(WIFSIGNALED(status));
  f.reopen();
  CHECK(f.db->count("s") == 300);
  CHECK(f.db->get_all_keys("s").size() == 300);
  CHECK(f.db->get_by_index("s", "ix", J("1")).size() == 100);
  CHECK(f.db->get_by_index("s", "ix", J("7")).empty());
}

// Cursors: directions, continue/advance rules, update/remove, streaming.
// Derived from WPT IndexedDB/idbcursor-direction*.htm, idbcursor-direction-index,
// idbcursor_continue_index*.htm, idbcursor_continue_objectstore*.htm,
// idbcursor-continuePrimaryKey*.any.js, idbcursor_advance_*.htm,
// idbcursor-advance-invalid, idbcursor_update_*.htm, idbcursor_delete_*.htm.
#include <algorithm>
#include <random>

#include "jsondb_test_util.h"

using namespace flowdb;
using namespace flowdb::jsondb;
using namespace flowdb::jsondb::testing;

namespace {

// "key:pk" strings of everything a cursor visits.
std::vector<std::string> visit(Cursor c) {
  std::vector<std::string> out;
  while (c.valid()) {
    out.push_back(boost::json::serialize(c.key()) + ":" + boost::json::serialize(c.primary_key()));
    c.continue_();
  }
  return out;
}

void fill_index_store(JsonDB& db) {
  db.create_object_store("s");
  db.create_index("s", "ix", "i");
  // (index key, primary key) pairs as in WPT idbcursor-direction-index
  db.put("s", J(R"({"i":"a"})"), J("3"));
  db.put("s", J(R"({"i":"a"})"), J("1"));
  db.put("s", J(R"({"i":"b"})"), J("2"));
  db.put("s", J(R"({"i":"b"})"), J("5"));
  db.put("s", J(R"({"i":"b"})"), J("4"));
  db.put("s", J(R"({"i":"c"})"), J("0"));
}

}  // namespace

TEST_CASE("jsondb cursor: directions over a store", "[jsondb][cursor]") {
  DbFixture f;
  f.db->create_object_store("s");
  for (int k : {3, 1, 2, 5, 4}) f.db->put("s", value(k * 10), value(k));
  using V = std::vector<std::string>;
  CHECK(visit(f.db->open_cursor("s")) == V{"1:1", "2:2", "3:3", "4:4", "5:5"});
  CHECK(visit(f.db->open_cursor("s", {}, {}, Direction::NextUnique)) ==
        V{"1:1", "2:2", "3:3", "4:4", "5:5"});
  CHECK(visit(f.db->open_cursor("s", {}, {}, Direction::Prev)) ==
        V{"5:5", "4:4", "3:3", "2:2", "1:1"});
  CHECK(visit(f.db->open_cursor("s", {}, {}, Direction::PrevUnique)) ==
        V{"5:5", "4:4", "3:3", "2:2", "1:1"});
  // WPT idbcursor-direction-objectstore-keyrange
  CHECK(visit(f.db->open_cursor("s", {}, KeyRange::bound(J("2"), J("4"), false, true))) ==
        V{"2:2", "3:3"});
  CHECK(visit(f.db->open_cursor("s", {}, KeyRange::bound(J("2"), J("4"), true, false),
                                Direction::Prev)) == V{"4:4", "3:3"});
  CHECK(visit(f.db->open_cursor("s", {}, KeyRange::only(J("9")))).empty());
  auto c = f.db->open_cursor("s");
  CHECK(c.value() == J("10"));
}

TEST_CASE("jsondb cursor: directions over an index (WPT idbcursor-direction-index)",
          "[jsondb][cursor]") {
  DbFixture f;
  fill_index_store(*f.db);
  using V = std::vector<std::string>;
  CHECK(visit(f.db->open_cursor("s", "ix")) ==
        V{"\"a\":1", "\"a\":3", "\"b\":2", "\"b\":4", "\"b\":5", "\"c\":0"});
  CHECK(visit(f.db->open_cursor("s", "ix", {}, Direction::Prev)) ==
        V{"\"c\":0", "\"b\":5", "\"b\":4", "\"b\":2", "\"a\":3", "\"a\":1"});
  // Unique directions visit the LOWEST primary key of each index key.
  CHECK(visit(f.db->open_cursor("s", "ix", {}, Direction::NextUnique)) ==
        V{"\"a\":1", "\"b\":2", "\"c\":0"});
  CHECK(visit(f.db->open_cursor("s", "ix", {}, Direction::PrevUnique)) ==
        V{"\"c\":0", "\"b\":2", "\"a\":1"});
  CHECK(visit(f.db->open_cursor("s", "ix", KeyRange::upper_bound(J("\"b\"")),
                                Direction::PrevUnique)) == V{"\"b\":2", "\"a\":1"});
  CHECK(visit(f.db->open_cursor("s", "ix", KeyRange::only(J("\"b\"")), Direction::Prev)) ==
        V{"\"b\":5", "\"b\":4", "\"b\":2"});
  auto c = f.db->open_cursor("s", "ix");
  CHECK(c.value() == J(R"({"i":"a"})"));
}

TEST_CASE("jsondb cursor: continue_to (WPT idbcursor_continue_index*)", "[jsondb][cursor]") {
  DbFixture f;
  fill_index_store(*f.db);
  auto c = f.db->open_cursor("s", "ix");
  CHECK(c.continue_to(J("\"b\"")));
  CHECK(c.key() == J("\"b\""));
  CHECK(c.primary_key() == J("2"));
  CHECK_ERRC(c.continue_to(J("\"b\"")), DataError);  // not beyond
  CHECK_ERRC(c.continue_to(J("\"a\"")), DataError);
  CHECK_ERRC(c.continue_to(J("null")), DataError);
  CHECK(c.continue_to(J("\"bb\"")));
  CHECK(c.key() == J("\"c\""));
  CHECK_FALSE(c.continue_to(J("\"d\"")));
  CHECK_FALSE(c.valid());
  CHECK_ERRC(c.continue_(), InvalidStateError);
  CHECK_ERRC(c.key(), InvalidStateError);

  auto p = f.db->open_cursor("s", "ix", {}, Direction::Prev);
  CHECK(p.continue_to(J("\"b\"")));
  CHECK(p.primary_key() == J("5"));
  CHECK_ERRC(p.continue_to(J("\"c\"")), DataError);
  CHECK(p.continue_to(J("\"ab\"")));
  CHECK(p.key() == J("\"a\""));
  CHECK(p.primary_key() == J("3"));

  auto pu = f.db->open_cursor("s", "ix", {}, Direction::PrevUnique);
  CHECK(pu.continue_to(J("\"b\"")));
  CHECK(pu.primary_key() == J("2"));
  auto nu = f.db->open_cursor("s", "ix", {}, Direction::NextUnique);
  CHECK(nu.continue_to(J("\"b\"")));
  CHECK(nu.primary_key() == J("2"));
  CHECK(nu.continue_());
  CHECK(nu.key() == J("\"c\""));

  // store cursors
  auto s = f.db->open_cursor("s");
  CHECK(s.continue_to(J("3")));
  CHECK(s.primary_key() == J("3"));
  CHECK(s.continue_to(J("4.5")));
  CHECK(s.primary_key() == J("5"));
  auto sp = f.db->open_cursor("s", {}, {}, Direction::Prev);
  CHECK(sp.continue_to(J("3")));
  CHECK(sp.primary_key() == J("3"));
  CHECK(sp.continue_to(J("0.5")));
  CHECK(sp.primary_key() == J("0"));
}

TEST_CASE("jsondb cursor: continue_primary_key (WPT idbcursor-continuePrimaryKey)",
          "[jsondb][cursor]") {
  DbFixture f;
  fill_index_store(*f.db);
  auto c = f.db->open_cursor("s", "ix");
  CHECK(c.continue_primary_key(J("\"b\""), J("4")));
  CHECK(c.primary_key() == J("4"));
  CHECK_ERRC(c.continue_primary_key(J("\"b\""), J("4")), DataError);
  CHECK_ERRC(c.continue_primary_key(J("\"a\""), J("9")), DataError);
  CHECK(c.continue_primary_key(J("\"b\""), J("4.5")));
  CHECK(c.primary_key() == J("5"));
  CHECK(c.continue_primary_key(J("\"b\""), J("6")));
  CHECK(c.key() == J("\"c\""));
  auto p = f.db->open_cursor("s", "ix", {}, Direction::Prev);
  CHECK(p.continue_primary_key(J("\"b\""), J("3")));
  CHECK(p.primary_key() == J("2"));
  CHECK_ERRC(p.continue_primary_key(J("\"b\""), J("2")), DataError);
  CHECK_ERRC(p.continue_primary_key(J("\"c\""), J("0")), DataError);
  auto u = f.db->open_cursor("s", "ix", {}, Direction::NextUnique);
  CHECK_ERRC(u.continue_primary_key(J("\"b\""), J("4")), InvalidAccessError);
  auto s = f.db->open_cursor("s");
  CHECK_ERRC(s.continue_primary_key(J("1"), J("1")), InvalidAccessError);
}

TEST_CASE("jsondb cursor: advance (WPT idbcursor_advance_*, idbcursor-advance-invalid)",
          "[jsondb][cursor]") {
  DbFixture f;
  fill_index_store(*f.db);
  auto c = f.db->open_cursor("s", "ix");
  CHECK(c.advance(2));
  CHECK(c.primary_key() == J("2"));
  CHECK_ERRC(c.advance(0), InvalidArgument);
  CHECK(c.advance(3));
  CHECK(c.primary_key() == J("0"));
  CHECK_FALSE(c.advance(1));
  CHECK_ERRC(c.advance(1), InvalidStateError);
  auto u = f.db->open_cursor("s", "ix", {}, Direction::PrevUnique);
  CHECK(u.advance(2));
  CHECK(u.key() == J("\"a\""));
  CHECK(u.primary_key() == J("1"));
  CHECK_FALSE(f.db->open_cursor("s").advance(100));
}

TEST_CASE("jsondb cursor: update and remove (WPT idbcursor_update_*, idbcursor_delete_*)",
          "[jsondb][cursor]") {
  DbFixture f;
  f.db->create_object_store("s", KeyPath("id"));
  f.db->create_index("s", "ix", "v");
  for (int i = 1; i <= 5; ++i) f.db->put("s", value({{"id", i}, {"v", i % 2}}));
  {
    auto ro = f.db->open_cursor("s");
    CHECK_ERRC(ro.update(J(R"({"id":1,"v":7})")), ReadOnlyError);
    CHECK_ERRC(ro.remove(), ReadOnlyError);
  }
  auto t = f.db->transaction({"s"}, TransactionMode::ReadWrite);
  auto c = t.open_cursor("s", "ix");
  int seen = 0;
  while (c.valid()) {
    ++seen;
    value d = c.value();
    if (d.at("id") == J("2")) {
      c.remove();
    } else if (d.at("v").as_int64() < 10) {
      d.as_object()["v"] = 10 + d.at("v").as_int64();
      CHECK_ERRC(c.update(J(R"({"id":99,"v":0})")), DataError);  // in-line key changed
      c.update(d);
    }
    c.continue_();
  }
  // Updated records move to index keys 10/11, after the cursor: visited again.
  CHECK(seen == 9);
  CHECK_ERRC(c.update(J("{}")), InvalidStateError);
  t.commit();
  CHECK(f.db->count("s") == 4);
  CHECK(f.db->get_by_index("s", "ix", J("0")).empty());
  CHECK(f.db->get_by_index("s", "ix", J("10")).size() == 1);  // id 4
  CHECK(f.db->get_by_index("s", "ix", J("11")).size() == 3);  // ids 1, 3, 5
  CHECK_ERRC(t.open_cursor("s"), TransactionInactiveError);
}

TEST_CASE("jsondb cursor: out-of-line update keeps the key", "[jsondb][cursor]") {
  DbFixture f;
  f.db->create_object_store("s");
  f.db->put("s", J("1"), J("\"k\""));
  auto t = f.db->transaction({"s"}, TransactionMode::ReadWrite);
  auto c = t.open_cursor("s");
  CHECK(c.update(J("2")) == J("\"k\""));
  CHECK(c.value() == J("1"));  // the cursor's value is not refreshed
  t.commit();
  CHECK(f.db->get("s", J("\"k\"")) == J("2"));
  CHECK_ERRC(c.continue_(), TransactionInactiveError);
}

TEST_CASE("jsondb cursor: Prev streams a large store in windows", "[jsondb][cursor]") {
  DbFixture f;
  f.db->create_object_store("s");
  f.db->create_index("s", "ix", "g");
  std::mt19937 rng(7);
  std::vector<value> keys;
  auto t = f.db->transaction({"s"}, TransactionMode::ReadWrite);
  for (int i = 0; i < 1500; ++i) {
    value k;
    switch (i % 4) {
      case 0:
        k = value(static_cast<int64_t>(rng() % 100000));
        break;
      case 1:
        k = value(std::string(rng() % 80, 'p') + std::to_string(rng()));  // long shared prefix
        break;
      case 2:
        k = value(boost::json::array{value(rng() % 7), value(std::to_string(i))});
        break;
      default:
        k = value(std::string("n\0", 2) + std::to_string(rng() % 1000));
    }
    t.put("s", value({{"g", static_cast<int64_t>(rng() % 13)}}), k);
  }
  t.commit();
  f.db->engine().flush();
  // More writes in the memtable on top of the SSTs, plus some deletions.
  for (int i = 0; i < 200; ++i) f.db->put("s", value({{"g", i % 5}}), value(i * 1000 + 1));
  for (int i = 0; i < 50; ++i) f.db->remove("s", value(i * 2000 + 1));

  auto fwd = visit(f.db->open_cursor("s"));
  auto bwd = visit(f.db->open_cursor("s", {}, {}, Direction::Prev));
  std::reverse(bwd.begin(), bwd.end());
  CHECK(fwd.size() == f.db->count("s"));
  CHECK(fwd == bwd);
  auto ifwd = visit(f.db->open_cursor("s", "ix"));
  auto ibwd = visit(f.db->open_cursor("s", "ix", {}, Direction::Prev));
  std::reverse(ibwd.begin(), ibwd.end());
  CHECK(ifwd == ibwd);
  CHECK(ifwd.size() == fwd.size());
  // PrevUnique == NextUnique reversed
  auto nu = visit(f.db->open_cursor("s", "ix", {}, Direction::NextUnique));
  auto pu = visit(f.db->open_cursor("s", "ix", {}, Direction::PrevUnique));
  std::reverse(pu.begin(), pu.end());
  CHECK(nu == pu);
  CHECK(nu.size() == 13);

  // Inside a transaction, with overlay writes mixed into the engine data.
  auto t2 = f.db->transaction({"s"}, TransactionMode::ReadWrite);
  for (int i = 0; i < 300; ++i) t2.put("s", value({{"g", 99}}), value(i * 333 + 7));
  t2.remove("s", KeyRange::bound(J("50000"), J("60000")));
  auto tf = visit(t2.open_cursor("s"));
  auto tb = visit(t2.open_cursor("s", {}, {}, Direction::Prev));
  std::reverse(tb.begin(), tb.end());
  CHECK(tf == tb);
  CHECK(tf.size() == t2.count("s"));
  t2.abort();
}

TEST_CASE("jsondb cursor: sees the transaction's own writes", "[jsondb][cursor]") {
  DbFixture f;
  f.db->create_object_store("s");
  f.db->put("s", J("\"old\""), J("2"));
  auto t = f.db->transaction({"s"}, TransactionMode::ReadWrite);
  t.put("s", J("\"new\""), J("1"));
  t.put("s", J("\"new\""), J("3"));
  auto c = t.open_cursor("s");
  CHECK(c.primary_key() == J("1"));
  t.remove("s", J("2"));
  CHECK(c.continue_());
  CHECK(c.primary_key() == J("3"));
  t.put("s", J("\"later\""), J("4"));
  CHECK(c.continue_());
  CHECK(c.primary_key() == J("4"));
  CHECK_FALSE(c.continue_());
}

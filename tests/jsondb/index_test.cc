// Indexes: ordering, replacement on put, unique and multiEntry semantics.
// Derived from WPT IndexedDB/idbindex_get*.any.js, idbindex_getAll*,
// idbindex-multientry*.any.js, idbobjectstore_createIndex*.any.js,
// idbindex_count, idbobjectstore_put (unique constraint), and
// idbindex-rename-errors / idbobjectstore_deleteIndex.
#include "jsondb_test_util.h"

using namespace flowdb;
using namespace flowdb::jsondb;
using namespace flowdb::jsondb::testing;

namespace {
std::vector<std::string> ids(const std::vector<value>& docs) {
  std::vector<std::string> out;
  for (const auto& d : docs) out.emplace_back(d.at("id").as_string());
  return out;
}
}  // namespace

TEST_CASE("jsondb index: lookups by index key, ordered by primary key", "[jsondb][index]") {
  DbFixture f;
  f.db->create_object_store("s", KeyPath("id"));
  f.db->create_index("s", "by_kind", "kind");
  f.db->put("s", J(R"({"id":"c","kind":"x"})"));
  f.db->put("s", J(R"({"id":"a","kind":"x"})"));
  f.db->put("s", J(R"({"id":"b","kind":"y"})"));
  f.db->put("s", J(R"({"id":"d"})"));                 // missing: not indexed
  f.db->put("s", J(R"({"id":"e","kind":null})"));     // invalid: not indexed
  f.db->put("s", J(R"({"id":"f","kind":{"a":1}})"));  // invalid: not indexed
  CHECK(ids(f.db->get_by_index("s", "by_kind", J("\"x\""))) == std::vector<std::string>{"a", "c"});
  CHECK(ids(f.db->range_by_index("s", "by_kind", std::nullopt, std::nullopt)) ==
        std::vector<std::string>{"a", "c", "b"});
  CHECK(ids(f.db->range_by_index("s", "by_kind", J("\"y\""), std::nullopt)) ==
        std::vector<std::string>{"b"});
  CHECK(f.db->get_by_index("s", "by_kind", J("\"z\"")).empty());
  CHECK_ERRC(f.db->get_by_index("s", "nope", J("1")), NotFoundError);
  CHECK_ERRC(f.db->get_by_index("s", "by_kind", J("null")), DataError);
  // put replaces the index entries of the old record
  f.db->put("s", J(R"({"id":"a","kind":"y"})"));
  CHECK(ids(f.db->get_by_index("s", "by_kind", J("\"x\""))) == std::vector<std::string>{"c"});
  CHECK(ids(f.db->get_by_index("s", "by_kind", J("\"y\""))) == std::vector<std::string>{"a", "b"});
  f.db->remove("s", J("\"b\""));
  CHECK(ids(f.db->get_by_index("s", "by_kind", J("\"y\""))) == std::vector<std::string>{"a"});
  f.db->clear("s");
  CHECK(f.db->get_by_index("s", "by_kind", J("\"y\"")).empty());
}

TEST_CASE("jsondb index: unique constraint fails the whole request", "[jsondb][index]") {
  DbFixture f;
  f.db->create_object_store("s", KeyPath("id"));
  f.db->create_index("s", "email", "email", true);
  f.db->create_index("s", "other", "o");
  f.db->put("s", J(R"({"id":1,"email":"a@x","o":1})"));
  CHECK_ERRC(f.db->add("s", J(R"({"id":2,"email":"a@x","o":2})")), ConstraintError);
  CHECK_FALSE(f.db->get("s", J("2")).has_value());
  CHECK(f.db->get_by_index("s", "other", J("2")).empty());
  CHECK(f.db->count("s") == 1);
  // put over itself with the same unique value is fine
  f.db->put("s", J(R"({"id":1,"email":"a@x","o":3})"));
  // put that would collide leaves the old record intact
  f.db->put("s", J(R"({"id":2,"email":"b@x","o":2})"));
  CHECK_ERRC(f.db->put("s", J(R"({"id":2,"email":"a@x","o":9})")), ConstraintError);
  CHECK(f.db->get("s", J("2"))->at("email") == J("\"b@x\""));
  CHECK(f.db->get_by_index("s", "email", J("\"b@x\"")).size() == 1);
  CHECK(f.db->get_by_index("s", "other", J("9")).empty());
  CHECK(f.db->count("s") == 2);
}

TEST_CASE("jsondb index: multiEntry (WPT idbindex-multientry)", "[jsondb][index]") {
  DbFixture f;
  f.db->create_object_store("s", KeyPath("id"));
  f.db->create_index("s", "tags", "t", false, true);
  f.db->create_index("s", "tags_whole", "t");
  f.db->put("s", J(R"({"id":"a","t":["x","y","x",null,{},[1,2]]})"));
  f.db->put("s", J(R"({"id":"b","t":["y"]})"));
  f.db->put("s", J(R"({"id":"c","t":"x"})"));
  f.db->put("s", J(R"({"id":"d","t":[]})"));
  CHECK(ids(f.db->get_by_index("s", "tags", J("\"x\""))) == std::vector<std::string>{"a", "c"});
  CHECK(ids(f.db->get_by_index("s", "tags", J("\"y\""))) == std::vector<std::string>{"a", "b"});
  CHECK(ids(f.db->get_by_index("s", "tags", J("[1,2]"))) == std::vector<std::string>{"a"});
  // each distinct member once
  CHECK(f.db->range_by_index("s", "tags", std::nullopt, std::nullopt).size() == 5);
  // the non-multiEntry index sees the array as one (invalid here: holds null) key
  CHECK(f.db->get_by_index("s", "tags_whole", J("[\"y\"]")).size() == 1);
  CHECK(f.db->range_by_index("s", "tags_whole", std::nullopt, std::nullopt).size() == 3);
  // list key path with multiEntry -> InvalidAccessError
  CHECK_ERRC(f.db->create_index("s", "bad", KeyPath({"a", "b"}), false, true), InvalidAccessError);
  // unique multiEntry
  f.db->create_index("s", "u", "u", true, true);
  f.db->put("s", J(R"({"id":"e","u":[1,2,2]})"));
  CHECK_ERRC(f.db->put("s", J(R"({"id":"f","u":[3,2]})")), ConstraintError);
  CHECK_FALSE(f.db->get("s", J("\"f\"")).has_value());
  f.db->put("s", J(R"({"id":"e","u":[2,3]})"));  // replaces its own entries
  CHECK(f.db->get_by_index("s", "u", J("1")).empty());
}

TEST_CASE("jsondb index: create_index over existing data (WPT createIndex)", "[jsondb][index]") {
  DbFixture f;
  f.db->create_object_store("s", KeyPath("id"));
  f.db->put("s", J(R"({"id":1,"k":"a"})"));
  f.db->put("s", J(R"({"id":2,"k":"a"})"));
  f.db->put("s", J(R"({"id":3,"k":"b"})"));
  CHECK_ERRC(f.db->create_index("s", "uk", "k", true), ConstraintError);
  CHECK(f.db->get_store("s")->find_index("uk") == nullptr);
  f.reopen();
  CHECK(f.db->get_store("s")->find_index("uk") == nullptr);
  f.db->create_index("s", "k", "k");
  CHECK(f.db->get_by_index("s", "k", J("\"a\"")).size() == 2);
  CHECK_ERRC(f.db->create_index("s", "k", "x"), ConstraintError);
  CHECK_ERRC(f.db->create_index("nope", "k", "x"), NotFoundError);
  f.db->create_index("s", "compound", KeyPath({"k", "id"}), true);
  CHECK(f.db->get_by_index("s", "compound", J("[\"a\",2]")).size() == 1);
  f.db->delete_index("s", "k");
  CHECK_ERRC(f.db->get_by_index("s", "k", J("\"a\"")), NotFoundError);
  CHECK_ERRC(f.db->delete_index("s", "k"), NotFoundError);
  CHECK_ERRC(f.db->create_index("s", "k", "k", true, false), ConstraintError);
  f.db->create_index("s", "k", "id", true, false);  // same name again: a fresh index
  f.db->put("s", J(R"({"id":4,"k":"c"})"));
  CHECK(f.db->get_store("s")->find_index("k")->key_path == KeyPath("id"));
  CHECK(f.db->get_by_index("s", "k", J("4")).size() == 1);
}

TEST_CASE("jsondb index: keys with NUL bytes are not confused", "[jsondb][index]") {
  DbFixture f;
  f.db->create_object_store("s", KeyPath("id"));
  f.db->create_index("s", "n", "n");
  value a = J("{}"), b = J("{}");
  a.as_object()["id"] = std::string("k\0", 2);
  a.as_object()["n"] = std::string("x\0y", 3);
  b.as_object()["id"] = "k";
  b.as_object()["n"] = "x";
  f.db->put("s", a);
  f.db->put("s", b);
  CHECK(f.db->count("s") == 2);
  CHECK(f.db->get_by_index("s", "n", value("x")).size() == 1);
  CHECK(f.db->get_by_index("s", "n", value(std::string("x\0y", 3))).size() == 1);
  CHECK(f.db->get_by_index("s", "n", value(std::string("x\0", 2))).empty());
}

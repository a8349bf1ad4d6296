// Key paths: syntax, evaluation, in-line keys, injection of generated keys.
// Derived from WPT IndexedDB/keypath_invalid.htm, keypath.any.js,
// keypath-exceptions.any.js, idbdatabase_createObjectStore*-invalidparameters,
// idbobjectstore_add*/put* (in-line key errors) and the spec's "evaluate a key path".
#include "jsondb/keypath.h"

#include "jsondb_test_util.h"

using namespace flowdb;
using namespace flowdb::jsondb;
using namespace flowdb::jsondb::testing;

TEST_CASE("jsondb keypath: invalid key paths are SyntaxError (WPT keypath_invalid)",
          "[jsondb][keypath]") {
  DbFixture f;
  f.db->create_object_store("s");
  const std::vector<KeyPath> bad = {"j a",
                                    ".yo",
                                    "yo,lo",
                                    std::vector<std::string>{},
                                    KeyPath({"array with space"}),
                                    KeyPath({"multi_array", "a,b"}),
                                    "3m",
                                    "my.1337",
                                    "..yo",
                                    "y..o",
                                    "y.o.",
                                    "y.o..",
                                    "m.*",
                                    "\"m\"",
                                    "m%",
                                    "m/",
                                    "m/a",
                                    "m&",
                                    "m!",
                                    "*",
                                    "*.*",
                                    "^m",
                                    "/m/"};
  int i = 0;
  for (const auto& kp : bad) {
    INFO("case " << i++);
    CHECK_FALSE(kp.valid());
    CHECK_ERRC(f.db->create_object_store("x" + std::to_string(i), kp), SyntaxError);
    CHECK_ERRC(f.db->create_index("s", "ix" + std::to_string(i), kp), SyntaxError);
  }
  CHECK(f.db->store_names() == std::vector<std::string>{"s"});
  CHECK(f.db->get_store("s")->indexes.empty());
}

TEST_CASE("jsondb keypath: valid key paths", "[jsondb][keypath]") {
  for (const KeyPath& kp :
       {KeyPath(""), KeyPath("a"), KeyPath("a.b.c"), KeyPath("$x"), KeyPath("_y1"),
        KeyPath("\xC3\xA9t\xC3\xA9"), KeyPath({"a", "b.c"}), KeyPath({""})}) {
    CHECK(kp.valid());
    CHECK(KeyPath::from_json(kp.to_json()) == kp);
  }
}

TEST_CASE("jsondb keypath: createObjectStore parameter errors (WPT createObjectStore9)",
          "[jsondb][keypath]") {
  DbFixture f;
  CHECK_ERRC(f.db->create_object_store("a", KeyPath(""), true), InvalidAccessError);
  CHECK_ERRC(f.db->create_object_store("b", KeyPath({"hey"}), true), InvalidAccessError);
  CHECK_ERRC(f.db->create_object_store("c", KeyPath(std::vector<std::string>{}), true),
             SyntaxError);
  f.db->create_object_store("d", std::nullopt, true);
  CHECK_ERRC(f.db->create_object_store("d"), ConstraintError);
  f.db->create_object_store("");  // the empty name is allowed
  CHECK(f.db->store_names() == std::vector<std::string>{"", "d"});
}

TEST_CASE("jsondb keypath: evaluation (WPT keypath.any.js)", "[jsondb][keypath]") {
  using detail::extract_key;
  using K = detail::Extracted::Kind;
  value doc = J(R"({"my":{"key":10},"s":"h\u00e9llo","arr":[1,2,3],"n":null,"b":true,
                    "o":{"x":1},"nested":{"a":[1,"x"]}})");
  CHECK(extract_key(doc, "my.key").key == J("10"));
  CHECK(extract_key(doc, "s.length").key == J("5"));
  CHECK(extract_key(doc, "arr.length").key == J("3"));
  CHECK(extract_key(doc, "nested.a").key == J("[1,\"x\"]"));
  CHECK(extract_key(doc, KeyPath({"my.key", "s"})).key == J("[10,\"h\\u00e9llo\"]"));
  CHECK(extract_key(doc, "missing").kind == K::Failure);
  CHECK(extract_key(doc, "my.missing").kind == K::Failure);
  CHECK(extract_key(doc, "s.x").kind == K::Failure);  // property of a string
  CHECK(extract_key(doc, KeyPath({"my.key", "missing"})).kind == K::Failure);
  CHECK(extract_key(doc, "n").kind == K::Invalid);
  CHECK(extract_key(doc, "b").kind == K::Invalid);
  CHECK(extract_key(doc, "o").kind == K::Invalid);
  CHECK(extract_key(doc, KeyPath({"my.key", "n"})).kind == K::Invalid);
  CHECK(extract_key(J("7"), "").key == J("7"));
  CHECK(extract_key(J("\"v\""), "").key == J("\"v\""));
  // multiEntry: distinct valid members
  CHECK(extract_key(J(R"({"t":[3,1,3,null,{},"a",[1],[1]]})"), "t", true).key ==
        J("[3,1,\"a\",[1]]"));
  CHECK(extract_key(J(R"({"t":5})"), "t", true).key == J("5"));
}

TEST_CASE("jsondb keypath: in-line keys on put/add", "[jsondb][keypath]") {
  DbFixture f;
  f.db->create_object_store("s", KeyPath("my.key"));
  CHECK(f.db->put("s", J(R"({"my":{"key":"k1"},"v":1})")) == J("\"k1\""));
  CHECK(f.db->get("s", J("\"k1\""))->at("v") == J("1"));
  // WPT idbobjectstore_add/put: missing key path value -> DataError; invalid -> DataError
  CHECK_ERRC(f.db->put("s", J(R"({"my":{}})")), DataError);
  CHECK_ERRC(f.db->put("s", J(R"({"my":{"key":null}})")), DataError);
  CHECK_ERRC(f.db->put("s", J(R"({"my":{"key":{}}})")), DataError);
  CHECK_ERRC(f.db->put("s", J(R"({"my":{"key":[true]}})")), DataError);
  // key argument with in-line keys -> DataError
  CHECK_ERRC(f.db->put("s", J(R"({"my":{"key":1}})"), J("1")), DataError);
  CHECK(f.db->count("s") == 1);

  f.db->create_object_store("value_is_key", KeyPath(""));
  CHECK(f.db->put("value_is_key", J("\"abc\"")) == J("\"abc\""));
  CHECK_ERRC(f.db->put("value_is_key", J("{}")), DataError);

  f.db->create_object_store("compound", KeyPath({"a", "b"}));
  CHECK(f.db->put("compound", J(R"({"a":1,"b":"x"})")) == J("[1,\"x\"]"));
  CHECK_ERRC(f.db->put("compound", J(R"({"a":1})")), DataError);
  CHECK(f.db->get("compound", J("[1,\"x\"]")).has_value());
}

TEST_CASE("jsondb keypath: generated keys are injected (WPT keygenerator-inject)",
          "[jsondb][keypath][generator]") {
  DbFixture f;
  f.db->create_object_store("s", KeyPath("a.b.id"), true);
  CHECK(f.db->put("s", J(R"({"v":1})")) == J("1"));
  CHECK(*f.db->get("s", J("1")) == J(R"({"v":1,"a":{"b":{"id":1}}})"));
  CHECK(f.db->put("s", J(R"({"a":{"c":2}})")) == J("2"));
  CHECK(*f.db->get("s", J("2")) == J(R"({"a":{"c":2,"b":{"id":2}}})"));
  // Cannot inject into a non-object -> DataError, counter unchanged
  CHECK_ERRC(f.db->put("s", J(R"({"a":5})")), DataError);
  CHECK_ERRC(f.db->put("s", J("\"str\"")), DataError);
  CHECK_ERRC(f.db->put("s", J(R"({"a":{"b":[]}})")), DataError);
  // An explicit in-line key is used as is.
  CHECK(f.db->put("s", J(R"({"a":{"b":{"id":"x"}}})")) == J("\"x\""));
  CHECK(f.db->put("s", J("{}")) == J("3"));
}

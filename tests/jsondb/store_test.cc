// Object store operations, key generator, persistence and typed documents.
// Derived from WPT IndexedDB/idbobjectstore_add*.any.js, _put*, _get*, _delete*,
// _clear*, _count*, _getAll*, _getAllKeys*, keygenerator*.any.js,
// keygenerator-overflow, keygenerator-explicit and key-generator-constrainterror.
#include <boost/describe.hpp>
#include <cmath>
#include <limits>

#include "jsondb_test_util.h"

using namespace flowdb;
using namespace flowdb::jsondb;
using namespace flowdb::jsondb::testing;

namespace devices {
struct Device {
  std::string id;
  std::string kind;
  int64_t fw = 0;
  std::vector<std::string> tags;
};
BOOST_DESCRIBE_STRUCT(Device, (), (id, kind, fw, tags))
}  // namespace devices

FLOWDB_JSONDB_DOCUMENT(devices::Device, "devices", "id",
                       .with_index("by_kind", "kind").with_multi_entry_index("by_tag", "tags"))

TEST_CASE("jsondb store: put, add, get, remove, count (WPT idbobjectstore_*)", "[jsondb][store]") {
  DbFixture f;
  f.db->create_object_store("s");
  CHECK(f.db->put("s", J(R"({"v":1})"), J("1")) == J("1"));
  CHECK(f.db->put("s", J(R"({"v":2})"), J("\"1\"")) == J("\"1\""));
  // "42" and 42 are different keys; 1 and 1.0 are the same
  CHECK(f.db->get("s", J("1"))->at("v") == J("1"));
  CHECK(f.db->get("s", J("1.0"))->at("v") == J("1"));
  CHECK(f.db->get("s", J("\"1\""))->at("v") == J("2"));
  CHECK(f.db->count("s") == 2);
  CHECK_ERRC(f.db->add("s", J("{}"), J("1.0")), ConstraintError);
  CHECK(f.db->put("s", J(R"({"v":3})"), J("1")) == J("1"));  // put overwrites
  CHECK(f.db->get("s", J("1"))->at("v") == J("3"));
  CHECK(f.db->count("s") == 2);
  // Missing key for out-of-line store without generator -> DataError
  CHECK_ERRC(f.db->put("s", J("{}")), DataError);
  CHECK_ERRC(f.db->put("s", J("{}"), J("null")), DataError);
  CHECK_ERRC(f.db->put("s", J("{}"), J("{}")), DataError);
  CHECK_ERRC(f.db->put("s", J("{}"), J("[1,true]")), DataError);
  CHECK_ERRC(f.db->get("s", J("true")), DataError);
  CHECK_FALSE(f.db->get("s", J("2")).has_value());
  f.db->remove("s", J("1"));
  CHECK_FALSE(f.db->get("s", J("1")).has_value());
  f.db->remove("s", J("12345"));  // absent: no error
  CHECK(f.db->count("s") == 1);
  CHECK_ERRC(f.db->get("nope", J("1")), NotFoundError);
  CHECK_ERRC(f.db->put("nope", J("{}"), J("1")), NotFoundError);
}

TEST_CASE("jsondb store: keys of every type, ranges, get_all, clear", "[jsondb][store]") {
  DbFixture f;
  f.db->create_object_store("s");
  const std::vector<value> keys = {J("-1e9"),  J("-1"),     J("0"),
                                   J("2.5"),   J("9"),      J("10"),
                                   J("\"\""),  J("\"a\""),  value(std::string("a\0", 2)),
                                   J("\"b\""), J("[]"),     J("[1]"),
                                   J("[1,2]"), J("[\"x\"]")};
  for (size_t i = keys.size(); i-- > 0;) f.db->put("s", value(static_cast<int64_t>(i)), keys[i]);
  auto all_keys = f.db->get_all_keys("s");
  REQUIRE(all_keys.size() == keys.size());
  for (size_t i = 0; i < keys.size(); ++i) CHECK(compare_keys(all_keys[i], keys[i]) == 0);
  auto vals = f.db->get_all("s");
  for (size_t i = 0; i < vals.size(); ++i) CHECK(vals[i] == value(static_cast<int64_t>(i)));
  CHECK(f.db->get_all("s", std::nullopt, 3).size() == 3);
  CHECK(f.db->get_all("s", std::nullopt, 0).size() == keys.size());  // 0 = no limit
  CHECK(f.db->count("s", KeyRange::bound(J("0"), J("10"))) == 4);
  CHECK(f.db->count("s", KeyRange::bound(J("0"), J("10"), true, true)) == 2);
  CHECK(f.db->count("s", KeyRange::lower_bound(J("\"\""))) == 8);
  CHECK(f.db->count("s", KeyRange::upper_bound(J("\"a\""), true)) == 7);
  CHECK(f.db->get_all_keys("s", KeyRange::only(value(std::string("a\0", 2)))).size() == 1);
  f.db->remove("s", KeyRange::bound(J("\"\""), J("[]"), false, true));
  CHECK(f.db->count("s") == keys.size() - 4);
  CHECK(f.db->count("s", KeyRange::lower_bound(J("\"\""))) == 4);
  f.db->clear("s");
  CHECK(f.db->count("s") == 0);
  CHECK(f.db->get_all("s").empty());
  f.db->put("s", J("1"), J("1"));
  CHECK(f.db->count("s") == 1);
}

TEST_CASE("jsondb store: key generator (WPT keygenerator*.any.js)", "[jsondb][generator]") {
  DbFixture f;
  f.db->create_object_store("g", std::nullopt, true);
  CHECK(f.db->put("g", J("\"a\"")) == J("1"));
  CHECK(f.db->put_auto("g", J("\"b\"")) == J("2"));
  CHECK(f.db->put("g", J("\"c\""), J("10")) == J("10"));  // explicit >= current moves it
  CHECK(f.db->put("g", J("\"d\"")) == J("11"));
  CHECK(f.db->put("g", J("\"e\""), J("5")) == J("5"));  // below: unchanged
  CHECK(f.db->put("g", J("\"f\"")) == J("12"));
  CHECK(f.db->put("g", J("\"g\""), J("12.5")) == J("12.5"));  // floor(12.5)+1 = 13
  CHECK(f.db->put("g", J("\"h\"")) == J("13"));
  f.db->put("g", J("0"), J("-100"));
  f.db->put("g", J("0"), J("\"1000\""));  // strings don't affect it
  f.db->put("g", J("0"), J("[1000]"));
  CHECK(f.db->put("g", J("\"i\"")) == J("14"));
  // remove and clear never lower it
  f.db->remove("g", J("14"));
  CHECK(f.db->put("g", J("0")) == J("15"));
  f.db->clear("g");
  CHECK(f.db->put("g", J("0")) == J("16"));
  // persisted across reopen
  f.reopen();
  CHECK(f.db->put("g", J("0")) == J("17"));
  // put_auto on a store without generator
  f.db->create_object_store("plain");
  CHECK_ERRC(f.db->put_auto("plain", J("0")), InvalidAccessError);
}

TEST_CASE("jsondb store: key generator overflow (WPT keygenerator-overflow)",
          "[jsondb][generator]") {
  DbFixture f;
  f.db->create_object_store("g", std::nullopt, true);
  const double max = 9007199254740992.0;  // 2^53
  f.db->put("g", J("0"), value(max - 1));
  CHECK(f.db->put("g", J("0")) == value(int64_t{9007199254740992}));
  CHECK_ERRC(f.db->put("g", J("0")), ConstraintError);
  CHECK_ERRC(f.db->put("g", J("0")), ConstraintError);
  f.db->put("g", J("0"), J("5"));  // explicit keys still work
  CHECK(f.db->count("g") == 3);

  f.db->create_object_store("inf", KeyPath("id"), true);
  f.db->put("inf", J(R"({"id":1e400})"));  // +Infinity (Boost.JSON parses as inf)
  CHECK_ERRC(f.db->put("inf", J("{}")), ConstraintError);
  f.db->create_object_store("big", std::nullopt, true);
  f.db->put("big", J("0"), value(1e300));
  CHECK_ERRC(f.db->put("big", J("0")), ConstraintError);
}

TEST_CASE("jsondb store: a failed request rolls the generator back", "[jsondb][generator]") {
  DbFixture f;
  f.db->create_object_store("g", KeyPath("id"), true);
  f.db->create_index("g", "u", "u", true);
  CHECK(f.db->put("g", J(R"({"u":1})")) == J("1"));
  CHECK_ERRC(f.db->put("g", J(R"({"u":1})")), ConstraintError);  // would have been 2
  CHECK(f.db->put("g", J(R"({"u":2})")) == J("2"));
}

TEST_CASE("jsondb store: schema persists and delete_object_store drops data", "[jsondb][schema]") {
  DbFixture f;
  f.db->create_object_store("a", KeyPath("id"));
  f.db->create_index("a", "by_x", "x");
  f.db->put("a", J(R"({"id":1,"x":"q"})"));
  f.reopen();
  auto def = f.db->get_store("a");
  REQUIRE(def);
  CHECK(def->key_path == KeyPath("id"));
  REQUIRE(def->indexes.size() == 1);
  CHECK(def->indexes[0].name == "by_x");
  CHECK(f.db->get_by_index("a", "by_x", J("\"q\"")).size() == 1);
  CHECK(f.db->count("a") == 1);
  f.db->delete_object_store("a");
  CHECK(f.db->store_names().empty());
  CHECK_ERRC(f.db->delete_object_store("a"), NotFoundError);
  f.db->create_object_store("a", KeyPath("id"));
  CHECK(f.db->count("a") == 0);
  CHECK(f.db->get_all("a").empty());
  f.reopen();
  CHECK(f.db->store_names() == std::vector<std::string>{"a"});
  CHECK(f.db->count("a") == 0);
}

TEST_CASE("jsondb store: count() is maintained, not scanned", "[jsondb][store]") {
  DbFixture f;
  f.db->create_object_store("s");
  auto t = f.db->transaction({"s"}, TransactionMode::ReadWrite);
  for (int i = 0; i < 500; ++i) t.put("s", J("{}"), value(i));
  CHECK(t.count("s") == 500);
  t.commit();
  f.db->engine().flush();
  for (int i = 0; i < 100; ++i) f.db->remove("s", value(i * 2));
  f.db->put("s", J("{}"), J("1"));  // overwrite: unchanged
  CHECK(f.db->count("s") == 400);
  f.reopen();
  CHECK(f.db->count("s") == 400);
  CHECK(f.db->count("s", KeyRange::lower_bound(J("0"))) == 400);
}

TEST_CASE("jsondb store: typed documents via Boost.Describe", "[jsondb][typed]") {
  DbFixture f;
  f.db->apply_schema<devices::Device>();
  f.db->apply_schema<devices::Device>();  // idempotent
  auto def = f.db->get_store("devices");
  REQUIRE(def);
  CHECK(def->indexes.size() == 2);
  devices::Device d{"dev-1", "sensor", 3, {"roof", "temp"}};
  CHECK(f.db->put_doc(d) == J("\"dev-1\""));
  f.db->put_doc(devices::Device{"dev-2", "gateway", 1, {"roof"}});
  auto got = f.db->get_doc<devices::Device>(J("\"dev-1\""));
  REQUIRE(got);
  CHECK(got->kind == "sensor");
  CHECK(got->tags == std::vector<std::string>{"roof", "temp"});
  CHECK(f.db->get_by_index("devices", "by_tag", J("\"roof\"")).size() == 2);
  auto sensors =
      f.db->query("devices").where_eq("kind", J("\"sensor\"")).collect_as<devices::Device>();
  REQUIRE(sensors.size() == 1);
  CHECK(sensors[0].id == "dev-1");
  f.db->remove_doc<devices::Device>(J("\"dev-1\""));
  CHECK_FALSE(f.db->get_doc<devices::Device>(J("\"dev-1\"")).has_value());
  f.db->apply_schemas({StoreSchema("other", KeyPath("k"))
                           .with_auto_increment()
                           .with_index("ab", KeyPath({"a", "b"}), true)});
  CHECK(f.db->get_store("other")->auto_increment);
  CHECK(f.db->get_store("other")->indexes[0].unique);
}

TEST_CASE("jsondb store: JsonDB over an existing engine", "[jsondb][store]") {
  flowdb::testing::TempDir dir;
  Config c;
  c.data_dir = dir.path();
  c.auto_background = false;
  auto engine = Engine::open(c);
  engine->write_batch(std::vector<Record>{Record("zz-series", 5, "x")});
  auto db = JsonDB::from_engine(std::move(engine));
  db->create_object_store("s");
  db->put("s", J("1"), J("\"k\""));
  CHECK(db->engine().get("zz-series", 5).has_value());
  CHECK(db->get("s", J("\"k\"")) == J("1"));
  Config ttl = c;
  ttl.default_ttl_secs = 10;
  CHECK_ERRC(JsonDB::open(ttl), InvalidArgument);
}

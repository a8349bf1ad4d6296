// QueryBuilder: index choice, filters before offset/limit, ordering.
#include "jsondb_test_util.h"

using namespace flowdb;
using namespace flowdb::jsondb;
using namespace flowdb::jsondb::testing;

namespace {
std::vector<int64_t> ids(const std::vector<value>& docs) {
  std::vector<int64_t> out;
  for (const auto& d : docs) out.push_back(d.at("id").as_int64());
  return out;
}
struct QueryFixture : DbFixture {
  QueryFixture() {
    db->create_object_store("s", KeyPath("id"));
    db->create_index("s", "kind", "kind");
    db->create_index("s", "temp", "temp");
    for (int i = 1; i <= 20; ++i) {
      value d = {{"id", i}, {"kind", i % 2 ? "odd" : "even"}, {"temp", (i * 7) % 20}};
      if (i % 5 == 0) d.as_object()["site"] = "north";
      db->put("s", d);
    }
  }
};
}  // namespace

TEST_CASE("jsondb query: filters apply before offset and limit", "[jsondb][query]") {
  QueryFixture f;
  // where_eq through the kind index, then an un-indexed filter, then limit
  auto r = f.db->query("s")
               .where_eq("kind", J("\"odd\""))
               .where_eq("site", J("\"north\""))
               .limit(2)
               .collect();
  CHECK(ids(r) == std::vector<int64_t>{5, 15});
  auto r2 = f.db->query("s").where_eq("site", J("\"north\"")).offset(1).limit(2).collect();
  CHECK(ids(r2) == std::vector<int64_t>{10, 15});
  CHECK(f.db->query("s").where_eq("kind", J("\"odd\"")).offset(100).collect().empty());
  CHECK(f.db->query("s").where_eq("kind", J("\"none\"")).collect().empty());
  CHECK(f.db->query("s").collect().size() == 20);
}

TEST_CASE("jsondb query: ranges, in, ordering", "[jsondb][query]") {
  QueryFixture f;
  auto r = f.db->query("s")
               .where_range("temp", KeyRange::bound(J("3"), J("6")))
               .order_by("temp")
               .collect();
  std::vector<int64_t> temps;
  for (auto& d : r) temps.push_back(d.at("temp").as_int64());
  CHECK(temps == std::vector<int64_t>{3, 4, 5, 6});
  auto d = f.db->query("s")
               .where_range("temp", KeyRange::lower_bound(J("15")))
               .order_by("temp", SortDir::Desc)
               .limit(2)
               .collect();
  REQUIRE(d.size() == 2);
  CHECK(d[0].at("temp") == J("19"));
  CHECK(d[1].at("temp") == J("18"));
  auto in = f.db->query("s").where_in("id", {J("3"), J("1"), J("3"), J("99")}).collect();
  CHECK(ids(in) == std::vector<int64_t>{1, 3});
  auto by_kind = f.db->query("s")
                     .where_in("kind", {J("\"odd\"")})
                     .where_range("id", KeyRange::upper_bound(J("6")))
                     .order_by("id", SortDir::Desc)
                     .collect();
  CHECK(ids(by_kind) == std::vector<int64_t>{5, 3, 1});
  // order by an un-indexed field: missing values last
  auto s = f.db->query("s")
               .where_range("id", KeyRange::bound(J("4"), J("6")))
               .order_by("site")
               .collect();
  CHECK(ids(s) == std::vector<int64_t>{5, 4, 6});
  CHECK_ERRC(f.db->query("s").where_eq("a b", J("1")), SyntaxError);
  CHECK_ERRC(f.db->query("s").where_eq("kind", J("null")), DataError);
  CHECK_ERRC(f.db->query("nope"), NotFoundError);
}

TEST_CASE("jsondb query: inside a transaction sees its writes", "[jsondb][query]") {
  QueryFixture f;
  auto t = f.db->transaction({"s"}, TransactionMode::ReadWrite);
  t.put("s", value({{"id", 100}, {"kind", "odd"}, {"temp", 0}}));
  t.remove("s", J("1"));
  auto r = t.query("s").where_eq("kind", J("\"odd\"")).collect();
  CHECK(r.size() == 10);
  CHECK(r.back().at("id") == J("100"));
  t.abort();
}

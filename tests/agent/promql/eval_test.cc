// The PromQL evaluator on hand-written cases: the JSON result format, limits,
// selection windows, range queries, result order and error messages.
#include "agent/promql/eval.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <string>

#include "agent/promql/parser.h"
#include "eval_test_util.h"

using namespace flowdb::promql;
using flowdb::promql::testing::labels;
using flowdb::promql::testing::MemQuerier;
using flowdb::promql::testing::run_script;

namespace {

ExprPtr parsed(std::string_view q) {
  ParseResult r = parse(q);
  INFO("query: " << q);
  REQUIRE(r.ok());
  return r.take_expr();
}

Value instant(MemQuerier& q, std::string_view query, int64_t t, const Limits& l = {}) {
  return eval_instant(*parsed(query), q, t, l);
}

// The type and message of the error an instant evaluation throws.
std::pair<std::string, std::string> error_of(MemQuerier& q, std::string_view query, int64_t t,
                                             const Limits& l = {}) {
  try {
    instant(q, query, t, l);
  } catch (const EvalError& e) {
    return {e.type(), e.what()};
  }
  FAIL("no error for " << query);
  return {};
}

// Samples every `step` ms from 0 with values 0, 1, 2, ...
std::vector<Sample> ramp(int n, int64_t step) {
  std::vector<Sample> s;
  for (int i = 0; i < n; ++i) s.push_back({i * step, static_cast<double>(i)});
  return s;
}

}  // namespace

TEST_CASE("to_json writes Prometheus's result formats", "[promql][eval][json]") {
  Vector v{{labels({{"__name__", "up"}, {"job", "a<b"}}), 1435781451781, 1.5}};
  CHECK(to_json(v) ==
        R"({"resultType":"vector","result":[{"metric":{"__name__":"up","job":"a\u003cb"},)"
        R"("value":[1435781451.781,"1.5"]}]})");
  Matrix m{{labels({{"a", "x"}}), {{1700000000500, 1}, {1700000001000, NAN}}}};
  CHECK(to_json(m) == R"({"resultType":"matrix","result":[{"metric":{"a":"x"},)"
                      R"("values":[[1700000000.500,"1"],[1700000001,"NaN"]]}]})");
  CHECK(to_json(Scalar{1000, INFINITY}) == R"({"resultType":"scalar","result":[1,"+Inf"]})");
  CHECK(to_json(String{1010, "a\"b"}) == R"({"resultType":"string","result":[1.01,"a\"b"]})");
  CHECK(to_json(Vector{}) == R"({"resultType":"vector","result":[]})");
}

TEST_CASE("to_json formats floats as Go's FormatFloat(v, 'f', -1, 64)", "[promql][eval][json]") {
  auto one = [](double v) { return to_json(Scalar{0, v}); };
  CHECK(one(0.1) == R"({"resultType":"scalar","result":[0,"0.1"]})");
  CHECK(one(1e21) == R"({"resultType":"scalar","result":[0,"1000000000000000000000"]})");
  CHECK(one(-INFINITY) == R"({"resultType":"scalar","result":[0,"-Inf"]})");
  CHECK(one(1.0 / 3) == R"({"resultType":"scalar","result":[0,"0.3333333333333333"]})");
  CHECK(one(-2) == R"({"resultType":"scalar","result":[0,"-2"]})");
  CHECK(one(1e-7) == R"({"resultType":"scalar","result":[0,"0.0000001"]})");
  CHECK(to_json(Scalar{1700000000500, 1}) ==
        R"({"resultType":"scalar","result":[1700000000.5,"1"]})");
}

TEST_CASE("to_json writes vector values as Prometheus's MarshalValue", "[promql][eval][json]") {
  // 'e' below 1e-6 and from 1e21, as jsonutil.MarshalValue; times with
  // three decimals, as jsonutil.MarshalTimestamp.
  auto one = [](double v) { return to_json(Vector{{{}, -1500, v}}); };
  CHECK(one(1e21) ==
        R"({"resultType":"vector","result":[{"metric":{},"value":[-1.500,"1e+21"]}]})");
  CHECK(one(1.5e-7) ==
        R"({"resultType":"vector","result":[{"metric":{},"value":[-1.500,"1.5e-07"]}]})");
  CHECK(one(0) == R"({"resultType":"vector","result":[{"metric":{},"value":[-1.500,"0"]}]})");
  CHECK(one(123456.25) ==
        R"({"resultType":"vector","result":[{"metric":{},"value":[-1.500,"123456.25"]}]})");
}

TEST_CASE("An instant selector looks back five minutes and honours staleness",
          "[promql][eval][selector]") {
  MemQuerier q;
  q.add(labels({{"__name__", "m"}}), {{0, 1}, {10000, stale_nan()}, {20000, 2}});
  CHECK(std::get<Vector>(instant(q, "m", 5000)).size() == 1);
  CHECK(std::get<Vector>(instant(q, "m", 15000)).empty());
  // 2.42's lookback window is closed: [t - 5m, t].
  CHECK(std::get<Vector>(instant(q, "m", 320000)).size() == 1);
  CHECK(std::get<Vector>(instant(q, "m", 320001)).empty());
  Limits l;
  l.lookback_delta = 1000;
  CHECK(std::get<Vector>(instant(q, "m", 22000, l)).empty());
}

TEST_CASE("Each selector is selected once over the whole query range", "[promql][eval][selector]") {
  MemQuerier q;
  q.add(labels({{"__name__", "m"}}), ramp(100, 10000));
  Limits l;
  eval_range(*parsed("rate(m[1m] offset 30s) + m"), q, 600000, 900000, 15000, l);
  REQUIRE(q.calls.size() == 2);
  CHECK(q.calls[0] == std::pair<int64_t, int64_t>{600000 - 30000 - 60000, 900000 - 30000});
  CHECK(q.calls[1] == std::pair<int64_t, int64_t>{600000 - 300000, 900000});
  q.calls.clear();
  instant(q, "max_over_time(m[5m:1m] offset 2m)", 900000);
  REQUIRE(q.calls.size() == 1);
  CHECK(q.calls[0] == std::pair<int64_t, int64_t>{900000 - 120000 - 300000 - 300000, 780000});
}

TEST_CASE("A range query merges steps into series sorted by labels", "[promql][eval][range]") {
  MemQuerier q;
  q.add(labels({{"__name__", "m"}, {"i", "b"}}), {{0, 1}, {60000, 2}});
  q.add(labels({{"__name__", "m"}, {"i", "a"}}), {{60000, 5}, {120000, stale_nan()}});
  Matrix m = eval_range(*parsed("m * 2"), q, 0, 120000, 60000, Limits{});
  REQUIRE(m.size() == 2);
  CHECK(m[0].labels == labels({{"i", "a"}}));
  REQUIRE(m[0].samples.size() == 1);
  CHECK(m[0].samples[0].t == 60000);
  CHECK(m[0].samples[0].v == 10);
  CHECK(m[1].labels == labels({{"i", "b"}}));
  CHECK(m[1].samples.size() == 3);  // the 60s sample is seen again at 120s
  Matrix s = eval_range(*parsed("time()"), q, 0, 120000, 60000, Limits{});
  REQUIRE(s.size() == 1);
  CHECK(s[0].labels.empty());
  CHECK(s[0].samples[2].v == 120);
}

TEST_CASE("A range query of a range vector is rejected as Prometheus rejects it",
          "[promql][eval][range]") {
  MemQuerier q;
  try {
    eval_range(*parsed("m[5m]"), q, 0, 1000, 1000, Limits{});
    FAIL("no error");
  } catch (const EvalError& e) {
    CHECK(e.type() == "bad_data");
    CHECK(std::string(e.what()) ==
          "invalid expression type \"range vector\" for range query, must be Scalar or instant "
          "Vector");
  }
}

TEST_CASE("An instant vector is sorted by labels, topk keeps its value order",
          "[promql][eval][order]") {
  MemQuerier q;
  q.add(labels({{"__name__", "m"}, {"i", "c"}}), {{0, 1}});
  q.add(labels({{"__name__", "m"}, {"i", "a"}}), {{0, 2}});
  q.add(labels({{"__name__", "m"}, {"i", "b"}}), {{0, 3}});
  Vector v = std::get<Vector>(instant(q, "m + 0", 0));
  REQUIRE(v.size() == 3);
  CHECK(label_value(v[0].labels, "i") == "a");
  CHECK(label_value(v[2].labels, "i") == "c");
  Vector t = std::get<Vector>(instant(q, "topk(3, m)", 0));
  REQUIRE(t.size() == 3);
  CHECK(t[0].v == 3);
  CHECK(t[2].v == 1);
  CHECK(label_value(t[0].labels, "__name__") == "m");
  Vector b = std::get<Vector>(instant(q, "bottomk(2, m)", 0));
  REQUIRE(b.size() == 2);
  CHECK(b[0].v == 1);
}

TEST_CASE("max_samples stops a query with Prometheus's message", "[promql][eval][limits]") {
  MemQuerier q;
  for (int i = 0; i < 10; ++i)
    q.add(labels({{"__name__", "m"}, {"i", std::to_string(i)}}), ramp(10, 1000));
  Limits l;
  l.max_samples = 50;
  CHECK(std::get<Vector>(instant(q, "m", 9000, l)).size() == 10);
  auto [type, msg] = error_of(q, "m[10s]", 9000, l);
  CHECK(type == "execution");
  CHECK(msg == "query processing would load too many samples into memory in query execution");
  CHECK_THROWS_AS(eval_range(*parsed("m"), q, 0, 9000, 1000, l), EvalError);
  // A range function holds one series' window at a time.
  CHECK(std::get<Vector>(instant(q, "sum(rate(m[10s]))", 9000, l)).size() == 1);
  l.max_samples = 5;
  CHECK(error_of(q, "sum(rate(m[10s]))", 9000, l).first == "execution");
}

TEST_CASE("A timeout and max_series fail the query", "[promql][eval][limits]") {
  MemQuerier q;
  q.add(labels({{"__name__", "m"}, {"i", "1"}}), ramp(3, 1000));
  q.add(labels({{"__name__", "m"}, {"i", "2"}}), ramp(3, 1000));
  Limits l;
  l.timeout = std::chrono::milliseconds(0);
  auto [type, msg] = error_of(q, "m", 1000, l);
  CHECK(type == "timeout");
  CHECK(msg == "query timed out in expression evaluation");
  Limits s;
  s.max_series = 1;
  CHECK(error_of(q, "m", 1000, s).first == "execution");
  s.max_series = 2;
  CHECK(std::get<Vector>(instant(q, "m", 1000, s)).size() == 2);
  s.timeout = std::chrono::milliseconds::max();
  CHECK(std::get<Vector>(instant(q, "m", 1000, s)).size() == 2);
}

TEST_CASE("Matching errors carry Prometheus's messages", "[promql][eval][binary]") {
  MemQuerier q;
  q.add(labels({{"__name__", "a"}, {"x", "1"}, {"y", "1"}}), {{0, 1}});
  q.add(labels({{"__name__", "a"}, {"x", "1"}, {"y", "2"}}), {{0, 1}});
  q.add(labels({{"__name__", "b"}, {"x", "1"}}), {{0, 1}});
  q.add(labels({{"__name__", "c"}, {"x", "1"}}), {{0, 1}});
  auto [type, msg] = error_of(q, "b + on(x) a", 0);
  CHECK(type == "execution");
  CHECK(msg ==
        "found duplicate series for the match group {x=\"1\"} on the right hand-side of the "
        "operation: [{__name__=\"a\", x=\"1\", y=\"2\"}, {__name__=\"a\", x=\"1\", y=\"1\"}]"
        ";many-to-many matching not allowed: matching labels must be unique on one side");
  CHECK(error_of(q, "a + on(x) group_right b", 0).second.find("on the left hand-side") !=
        std::string::npos);
  CHECK(error_of(q, "abs({x=\"1\"})", 0).second ==
        "vector cannot contain metrics with the same labelset");
  auto bad = error_of(q, "a{x=~\"(\"}", 0);
  CHECK(bad.first == "bad_data");
  CHECK(bad.second.rfind("error parsing regexp", 0) == 0);
}

TEST_CASE("A subquery without a step uses the default subquery step", "[promql][eval][subquery]") {
  MemQuerier q;
  q.add(labels({{"__name__", "m"}}), ramp(100, 10000));
  Limits l;
  Value v = instant(q, "count_over_time(m[5m:])", 600000, l);
  CHECK(std::get<Vector>(v).at(0).v == 6);  // 300s..600s by 1m, both ends
  l.default_subquery_step = 30000;
  v = instant(q, "count_over_time(m[5m:])", 600000, l);
  CHECK(std::get<Vector>(v).at(0).v == 11);
}

TEST_CASE("The script runner reports wrong values and missing errors", "[promql][eval][script]") {
  auto r = run_script(
      "load 1m\n  m 1 2 3\n\neval instant at 2m m\n  m 4\n\n"
      "eval_fail instant at 2m m\n\neval instant at 2m m\n  m 3\n");
  REQUIRE(r.outcomes.size() == 3);
  CHECK(r.outcomes[0].second == "expected 4 for {__name__=\"m\"} but got 3");
  CHECK(r.outcomes[1].second == "expected an error, got none");
  CHECK(r.outcomes[2].second.empty());
}

TEST_CASE("A day's range query over a thousand series stays fast", "[promql][eval][.perf]") {
  MemQuerier q;
  for (int i = 0; i < 1000; ++i) {
    q.add(labels({{"__name__", "m"}, {"i", std::to_string(i)}, {"job", std::to_string(i % 10)}}),
          ramp(8640, 10000));
  }
  auto t0 = std::chrono::steady_clock::now();
  Matrix m = eval_range(*parsed("sum by (job) (rate(m[5m]))"), q, 0, 86400000, 60000, Limits{});
  auto t1 = std::chrono::steady_clock::now();
  Matrix n = eval_range(*parsed("m * 2 > 10"), q, 0, 86400000, 60000, Limits{});
  auto t2 = std::chrono::steady_clock::now();
  WARN("rate+sum " << std::chrono::duration_cast<std::chrono::milliseconds>(t1 - t0).count()
                   << " ms, binop "
                   << std::chrono::duration_cast<std::chrono::milliseconds>(t2 - t1).count()
                   << " ms");
  CHECK(m.size() == 10);
  CHECK(n.size() == 1000);
}

TEST_CASE("label_replace expands Go's template syntax", "[promql][eval][function]") {
  MemQuerier q;
  q.add(labels({{"__name__", "m"}, {"src", "ab"}}), {{0, 1}});
  auto dst = [&](std::string_view repl) {
    std::string query =
        "label_replace(m, \"dst\", \"" + std::string(repl) + "\", \"src\", \"(?P<first>a)(b)\")";
    Vector v = std::get<Vector>(instant(q, query, 0));
    REQUIRE(v.size() == 1);
    return std::string(label_value(v[0].labels, "dst"));
  };
  CHECK(dst("$1-${2}") == "a-b");
  CHECK(dst("$first$2") == "ab");
  CHECK(dst("$$1") == "$1");
  CHECK(dst("$1x") == "");  // the group "1x" does not exist, as Go reads it
  CHECK(dst("${1}x") == "ax");
  CHECK(dst("$") == "$");
  CHECK(dst("$3") == "");
  Vector keep = std::get<Vector>(instant(q, R"(label_replace(m, "dst", "x", "src", "zz"))", 0));
  CHECK(keep.at(0).labels == labels({{"__name__", "m"}, {"src", "ab"}}));
  auto [type, msg] = error_of(q, R"(label_replace(m, "dst", "x", "src", "("))", 0);
  CHECK(type == "execution");
  CHECK(msg == "invalid regular expression in label_replace(): (");
  CHECK(error_of(q, R"(label_replace(m, "1d", "x", "src", "a"))", 0).second ==
        "invalid destination label name in label_replace(): 1d");
}

TEST_CASE("timestamp() of a selector gives the sample's own time", "[promql][eval][function]") {
  MemQuerier q;
  q.add(labels({{"__name__", "m"}}), {{10000, 1}, {70000, 2}});
  Vector v = std::get<Vector>(instant(q, "timestamp(m offset 1m)", 100000));
  REQUIRE(v.size() == 1);
  CHECK(v[0].v == 10);
  CHECK(v[0].labels.empty());
  v = std::get<Vector>(instant(q, "timestamp(m + 0)", 100000));
  CHECK(v.at(0).v == 100);
}

TEST_CASE("count_values labels each value as Go formats it", "[promql][eval][aggregate]") {
  MemQuerier q;
  q.add(labels({{"__name__", "m"}, {"i", "1"}}), {{0, 0.5}});
  q.add(labels({{"__name__", "m"}, {"i", "2"}}), {{0, 0.5}});
  q.add(labels({{"__name__", "m"}, {"i", "3"}}), {{0, 1e21}});
  Vector v = std::get<Vector>(instant(q, R"(count_values("v", m))", 0));
  REQUIRE(v.size() == 2);
  CHECK(v[0].labels == labels({{"v", "0.5"}}));
  CHECK(v[0].v == 2);
  CHECK(v[1].labels == labels({{"v", "1000000000000000000000"}}));
  CHECK(error_of(q, R"(count_values("1x", m))", 0).second == "invalid label name \"1x\"");
}

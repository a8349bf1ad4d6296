// InfluxLineEncoder: value syntax, escaping, microsecond timestamps, grouping
// of one point's fields, unrepresentable samples; outputs parse back with the
// ingest line-protocol parser.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "export/influx/influx_line_encoder.h"
#include "ingest/line_protocol.h"

using flowdb::export_influx::InfluxLineEncoder;
using flowdb::exporter::Sample;
using flowdb::ingest::FieldValue;
using flowdb::ingest::Tag;

namespace {

Sample make_sample(std::string m, std::vector<Tag> tags, std::string field, FieldValue v,
                   int64_t ts = 1700000000123456) {
  return Sample{{std::move(m), std::move(tags), std::move(field)}, std::move(v), ts};
}

std::string encode(const std::vector<Sample>& batch, bool uint_support = true,
                   uint64_t* skipped = nullptr) {
  InfluxLineEncoder enc(uint_support);
  std::string out;
  const uint64_t n = enc.encode(batch, &out);
  if (skipped != nullptr) *skipped = n;
  return out;
}

}  // namespace

TEST_CASE("each value type is written in its line-protocol form", "[export][influx]") {
  CHECK(encode({make_sample("m", {}, "f", 1.5)}) == "m f=1.5 1700000000123456\n");
  CHECK(encode({make_sample("m", {}, "f", int64_t{-3})}) == "m f=-3i 1700000000123456\n");
  CHECK(encode({make_sample("m", {}, "f", uint64_t{18446744073709551615u})}) ==
        "m f=18446744073709551615u 1700000000123456\n");
  CHECK(encode({make_sample("m", {}, "f", true)}) == "m f=true 1700000000123456\n");
  CHECK(encode({make_sample("m", {}, "f", false)}) == "m f=false 1700000000123456\n");
  CHECK(encode({make_sample("m", {}, "f", std::string("hi"))}) == "m f=\"hi\" 1700000000123456\n");
  CHECK(encode({make_sample("m", {}, "f", 2.0)}) == "m f=2 1700000000123456\n");
  CHECK(encode({make_sample("m", {}, "f", 1.0, -1)}) == "m f=1 -1\n");
}

TEST_CASE("uints without uint support are clamped integers", "[export][influx]") {
  CHECK(encode({make_sample("m", {}, "f", uint64_t{42})}, false) == "m f=42i 1700000000123456\n");
  CHECK(encode({make_sample("m", {}, "f", uint64_t{18446744073709551615u})}, false) ==
        "m f=9223372036854775807i 1700000000123456\n");
}

TEST_CASE("every special character is escaped and parses back", "[export][influx]") {
  const std::vector<Sample> batch = {
      make_sample("we ird,m=x", {{"t k,=", "v a,l=ue"}, {"u", "back\\slash"}}, "f i,e=ld",
                  std::string("say \"hi\" \\ bye, a=b")),
  };
  const std::string line = encode(batch);
  CHECK(line ==
        "we\\ ird\\,m=x,t\\ k\\,\\==v\\ a\\,l\\=ue,u=back\\slash "
        "f\\ i\\,e\\=ld=\"say \\\"hi\\\" \\\\ bye, a=b\" 1700000000123456\n");
  const auto parsed =
      flowdb::ingest::parse_line_protocol(line, 0, {.precision = flowdb::ingest::Precision::us});
  REQUIRE(parsed.errors.empty());
  REQUIRE(parsed.points.size() == 1);
  const auto& p = parsed.points[0];
  CHECK(p.measurement == "we ird,m=x");
  CHECK(p.tags == std::vector<Tag>{{"t k,=", "v a,l=ue"}, {"u", "back\\slash"}});
  REQUIRE(p.fields.size() == 1);
  CHECK(p.fields[0].first == "f i,e=ld");
  CHECK(p.fields[0].second == FieldValue(std::string("say \"hi\" \\ bye, a=b")));
  CHECK(p.ts_us == 1700000000123456);
  CHECK(p.has_ts);
}

TEST_CASE("doubles are written in a form that round-trips exactly", "[export][influx]") {
  const double values[] = {0.1,
                           -0.0,
                           1e-300,
                           std::numeric_limits<double>::max(),
                           5e-324,
                           1.0 / 3,
                           123456789.123456789,
                           -2.5e17};
  std::vector<Sample> batch;
  int64_t ts = 1;
  for (double v : values) batch.push_back(make_sample("m", {}, "f", v, ts++));
  const auto parsed = flowdb::ingest::parse_line_protocol(
      encode(batch), 0, {.precision = flowdb::ingest::Precision::us});
  REQUIRE(parsed.points.size() == std::size(values));
  for (size_t i = 0; i < std::size(values); ++i) {
    const double got = std::get<double>(parsed.points[i].fields[0].second);
    CHECK(std::memcmp(&got, &values[i], sizeof got) == 0);
  }
}

TEST_CASE("consecutive fields of one series and timestamp share a line", "[export][influx]") {
  const std::vector<Tag> gw1 = {{"host", "gw1"}}, gw2 = {{"host", "gw2"}};
  const std::vector<Sample> batch = {
      make_sample("cpu", gw1, "usage", 0.5, 10),          //
      make_sample("cpu", gw1, "procs", int64_t{87}, 10),  // same line
      make_sample("cpu", gw1, "up", true, 10),            // same line
      make_sample("cpu", gw1, "usage", 0.6, 11),          // new time
      make_sample("cpu", gw2, "usage", 0.7, 11),          // new series
      make_sample("mem", gw2, "usage", 0.8, 11),          // new measurement
      make_sample("mem", gw2, "free", 1.0, 11),           // same line
      make_sample("mem", gw2, "free", 2.0, 11),           // repeated field: new line
  };
  CHECK(encode(batch) ==
        "cpu,host=gw1 usage=0.5,procs=87i,up=true 10\n"
        "cpu,host=gw1 usage=0.6 11\n"
        "cpu,host=gw2 usage=0.7 11\n"
        "mem,host=gw2 usage=0.8,free=1 11\n"
        "mem,host=gw2 free=2 11\n");
}

TEST_CASE("a series with tags and one without do not share a line", "[export][influx]") {
  const std::vector<Sample> batch = {make_sample("m", {}, "a", 1.0, 5),
                                     make_sample("m", {{"t", "1"}}, "b", 2.0, 5)};
  CHECK(encode(batch) == "m a=1 5\nm,t=1 b=2 5\n");
}

TEST_CASE("unrepresentable samples are skipped and counted", "[export][influx]") {
  uint64_t skipped = 0;
  const std::vector<Sample> batch = {
      make_sample("m", {}, "ok1", 1.0, 7),
      make_sample("m", {}, "nl", std::string("two\nlines"), 7),  // same line as ok1: split up
      make_sample("m", {}, "nan", std::nan(""), 7),
      make_sample("m", {}, "ok2", int64_t{2}, 7),
      make_sample("#comment", {}, "f", 1.0, 8),
      make_sample("m", {{"t", ""}}, "f", 1.0, 9),            // empty tag value
      make_sample("m", {}, "", 1.0, 10),                     // empty field key
      make_sample("m", {}, "bad", std::string("\xff"), 11),  // invalid UTF-8
      make_sample("m", {}, "ok3", false, 12),
  };
  CHECK(encode(batch, true, &skipped) == "m ok1=1 7\nm ok2=2i 7\nm ok3=false 12\n");
  CHECK(skipped == 6);
}

TEST_CASE("the encoder appends and can be reused", "[export][influx]") {
  InfluxLineEncoder enc(true);
  std::string out = "head\n";
  const std::vector<Sample> a = {make_sample("m", {{"k", "v"}}, "f", 1.0, 1)};
  const std::vector<Sample> b = {make_sample("m", {{"k", "v"}}, "g", 2.0, 1)};
  CHECK(enc.encode(a, &out) == 0);
  CHECK(enc.encode(b, &out) == 0);  // a new call starts a new line
  CHECK(out == "head\nm,k=v f=1 1\nm,k=v g=2 1\n");
}

TEST_CASE("random batches parse back to the same samples", "[export][influx]") {
  // Names mix plain bytes (the fast path) with every byte that needs escaping
  // and UTF-8 (the ingest writer's path); values of every type.
  const std::vector<std::string> names = {"a",    "cpu", "b c", "x,y", "k=v", "q\"t",
                                          "s\\l", "ü",   "_r",  "T9",  "#h",  "m,=\\ \""};
  std::mt19937_64 rng(42);
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  for (int round = 0; round < 200; ++round) {
    std::vector<Sample> batch;
    for (int i = 0; i < 30; ++i) {
      std::vector<Tag> tags;
      for (size_t t = pick(3); t-- > 0;) {
        flowdb::ingest::upsert_tag(&tags, names[pick(names.size())], names[pick(names.size())]);
      }
      std::string m = names[pick(names.size())];
      if (m[0] == '#') m = "h#";  // a leading '#' is a comment line: unrepresentable
      const int64_t ts = 1700000000000000 + static_cast<int64_t>(pick(3));
      const int fields = 1 + static_cast<int>(pick(3));
      for (int f = 0; f < fields; ++f) {
        FieldValue v;
        switch (pick(5)) {
          case 0:
            v = static_cast<double>(rng()) / 7.0;
            break;
          case 1:
            v = static_cast<int64_t>(rng());
            break;
          case 2:
            v = static_cast<uint64_t>(rng());
            break;
          case 3:
            v = pick(2) == 0;
            break;
          default:
            v = names[pick(names.size())] + " " + names[pick(names.size())];
        }
        batch.push_back(make_sample(m, tags, "f" + std::to_string(f), std::move(v), ts));
      }
    }
    uint64_t skipped = 1;
    const std::string text = encode(batch, true, &skipped);
    REQUIRE(skipped == 0);
    const auto parsed =
        flowdb::ingest::parse_line_protocol(text, 0, {.precision = flowdb::ingest::Precision::us});
    REQUIRE(parsed.errors.empty());
    std::vector<Sample> back;
    for (const auto& p : parsed.points) {
      for (const auto& [field, value] : p.fields) {
        back.push_back(make_sample(p.measurement, p.tags, field, value, p.ts_us));
      }
    }
    REQUIRE(back.size() == batch.size());
    for (size_t i = 0; i < batch.size(); ++i) {
      CAPTURE(round, i, text);
      CHECK(back[i].series == batch[i].series);
      CHECK(back[i].value == batch[i].value);
      CHECK(back[i].ts_us == batch[i].ts_us);
    }
  }
}

// mqtt export without a broker: topic templates, payload formats, the lz4
// frame and packing a topic's samples into size-limited messages.
#include "export/mqtt/mqtt_payload.h"

#include <lz4.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <random>

#include "export/mqtt/topic_template.h"
#include "mqtt_test_util.h"

using namespace flowdb;
using namespace flowdb::export_mqtt;
using namespace flowdb::export_mqtt_test;

namespace {

std::string render(std::string_view tmpl, const Sample& s) {
  std::string error;
  auto t = TopicTemplate::parse(tmpl, &error);
  INFO(error);
  REQUIRE(t);
  std::string out;
  CHECK(t->render(s.series, &out));
  return out;
}

std::string unit(PayloadFormat f, const Sample& s) {
  std::string out;
  REQUIRE(append_sample(f, s, &out));
  return out;
}

// The samples of a payload produced by pack_payloads.
std::vector<Sample> decode(PayloadFormat f, Compression c, const std::string& payload) {
  std::string text = payload;
  if (c == Compression::kLz4) REQUIRE(lz4_unframe(payload, &text));
  return f == PayloadFormat::kJson ? samples_from_json(text) : samples_from_lp(text);
}

}  // namespace

TEST_CASE("topic template renders measurement - field and tags into single levels",
          "[export][mqtt][topic]") {
  const Sample s =
      make_sample("cpu", {{"host", "gw/1+#"}, {"site", "north"}, {"zone", ""}}, "usage", 0.5, 1);
  CHECK(render("flowdb/{measurement}", s) == "flowdb/cpu");
  CHECK(render(kDefaultTopic, s) == "flowdb/cpu");
  CHECK(render("s/{tag:site}/{measurement}/{field}", s) == "s/north/cpu/usage");
  CHECK(render("h/{tag:host}", s) == "h/gw_1__");
  CHECK(render("m/{tag:missing}/{tag:zone}", s) == "m/_/_");
  CHECK(render("{measurement}-{field}.v1", s) == "cpu-usage.v1");
  CHECK(TopicTemplate().text() == "flowdb/{measurement}");
  std::string out;
  CHECK(TopicTemplate().render(s.series, &out));
  CHECK(out == "flowdb/cpu");
}

TEST_CASE("topic template rejects wildcards - empty levels and unknown placeholders",
          "[export][mqtt][topic]") {
  for (std::string_view bad : std::vector<std::string_view>{
           "", "a/+/b", "a/#", "a+b", "a//b", "/a", "a/", "/", "{nope}", "{tag:}", "a/{measurement",
           "a}", "$SYS/x", "{tag:a{b}", std::string_view("a\0b", 3)}) {
    std::string error;
    INFO("template '" << bad << "'");
    CHECK_FALSE(TopicTemplate::parse(bad, &error));
    CHECK_FALSE(error.empty());
  }
  std::string error;
  CHECK(TopicTemplate::parse("a/{measurement}/{field}", &error));
  CHECK(TopicTemplate::parse("{tag:host}", &error));
}

TEST_CASE("topic longer than 65535 bytes is not rendered", "[export][mqtt][topic]") {
  std::string error;
  auto t = TopicTemplate::parse("x/{measurement}", &error);
  REQUIRE(t);
  std::string out;
  CHECK_FALSE(t->render(make_sample(std::string(70000, 'm'), {}, "f", 1.0, 0).series, &out));
}

TEST_CASE("lp payload: one line per sample with nanosecond timestamps", "[export][mqtt][payload]") {
  const auto lp = PayloadFormat::kLineProtocol;
  CHECK(unit(lp, make_sample("cpu", {{"host", "gw1"}}, "usage", 0.5, 1700000000000000)) ==
        "cpu,host=gw1 usage=0.5 1700000000000000000\n");
  CHECK(unit(lp, make_sample("m x", {{"t k", "a,b"}}, "f=1", int64_t{-3}, -1)) ==
        "m\\ x,t\\ k=a\\,b f\\=1=-3i -1000\n");
  CHECK(unit(lp, make_sample("m", {}, "u", uint64_t{18446744073709551615u}, 0)) ==
        "m u=18446744073709551615u 0\n");
  CHECK(unit(lp, make_sample("m", {}, "b", true, 2)) == "m b=true 2000\n");
  CHECK(unit(lp, make_sample("m", {}, "s", std::string("say \"hi\""), 3)) ==
        "m s=\"say \\\"hi\\\"\" 3000\n");
}

TEST_CASE("json payload: one object per sample with microsecond timestamps",
          "[export][mqtt][payload]") {
  const auto json = PayloadFormat::kJson;
  CHECK(
      unit(json, make_sample("cpu", {{"host", "gw1"}}, "procs", int64_t{87}, 1700000000000000)) ==
      R"({"measurement":"cpu","tags":{"host":"gw1"},"fields":{"procs":87},"ts":1700000000000000})");
  // Doubles in Boost.JSON's shortest round-trip form (always with an exponent).
  CHECK(unit(json, make_sample("cpu", {{"host", "gw1"}}, "usage", 0.5, 1)) ==
        R"({"measurement":"cpu","tags":{"host":"gw1"},"fields":{"usage":5E-1},"ts":1})");
  CHECK(unit(json, make_sample("m", {}, "s", std::string("a\"b"), -5)) ==
        R"({"measurement":"m","tags":{},"fields":{"s":"a\"b"},"ts":-5})");
  // Every value type parses back to the same type and value.
  const std::vector<Sample> all = {
      make_sample("m", {{"a", "1"}}, "d", 0.25, 1), make_sample("m", {}, "i", int64_t{-7}, 2),
      make_sample("m", {}, "u", uint64_t{18446744073709551615u}, 3),
      make_sample("m", {}, "b", false, 4), make_sample("m", {}, "s", std::string("x"), 5)};
  std::string doc = "[";
  for (const Sample& s : all) doc += (doc.size() > 1 ? "," : "") + unit(json, s);
  check_same(samples_from_json(doc + "]"), all);
}

TEST_CASE("samples a format cannot represent are refused", "[export][mqtt][payload]") {
  for (auto f : {PayloadFormat::kLineProtocol, PayloadFormat::kJson}) {
    std::string out = "keep";
    CHECK_FALSE(append_sample(f, make_sample("m", {}, "f", std::nan(""), 0), &out));
    CHECK_FALSE(append_sample(
        f, make_sample("m", {}, "f", std::numeric_limits<double>::infinity(), 0), &out));
    CHECK_FALSE(append_sample(f, make_sample("m", {}, "", 1.0, 0), &out));
    CHECK_FALSE(append_sample(f, make_sample("", {}, "f", 1.0, 0), &out));
    CHECK_FALSE(append_sample(f, make_sample("m", {}, "f", std::string("\xff"), 0), &out));
    CHECK(out == "keep");
  }
  std::string out;
  // Beyond int64 nanoseconds (year 2262): lp only.
  const int64_t late = std::numeric_limits<int64_t>::max() / 100;
  CHECK_FALSE(
      append_sample(PayloadFormat::kLineProtocol, make_sample("m", {}, "f", 1.0, late), &out));
  CHECK(append_sample(PayloadFormat::kJson, make_sample("m", {}, "f", 1.0, late), &out));
}

TEST_CASE("lz4 frame: FDZ1 magic - little-endian length - LZ4 block", "[export][mqtt][payload]") {
  std::string text;
  for (int i = 0; i < 200; ++i) text += "cpu,host=gw1 usage=0.5 " + std::to_string(i) + "\n";
  const std::string frame = lz4_frame(text);
  REQUIRE(frame.size() > 8);
  CHECK(frame.substr(0, 4) == "FDZ1");
  const auto* b = reinterpret_cast<const unsigned char*>(frame.data());
  const uint32_t len = b[4] | (b[5] << 8) | (b[6] << 16) | (uint32_t{b[7]} << 24);
  CHECK(len == text.size());
  CHECK(frame.size() < text.size() / 2);
  // Decoded with plain liblz4, as a consumer would.
  std::string plain(len, '\0');
  CHECK(LZ4_decompress_safe(frame.data() + 8, plain.data(), static_cast<int>(frame.size() - 8),
                            static_cast<int>(len)) == static_cast<int>(len));
  CHECK(plain == text);
  std::string out;
  CHECK(lz4_unframe(frame, &out));
  CHECK(out == text);
  CHECK_FALSE(lz4_unframe("FDZ", &out));
  CHECK_FALSE(lz4_unframe("XXXX" + frame.substr(4), &out));
  CHECK_FALSE(lz4_unframe(frame.substr(0, frame.size() - 3), &out));
  CHECK(lz4_frame("").size() == 9);
}

TEST_CASE("packing keeps every payload within max_bytes and the samples in order",
          "[export][mqtt][payload]") {
  std::vector<Sample> batch;
  for (int i = 0; i < 500; ++i) {
    batch.push_back(make_sample("temperature", {{"room", "r" + std::to_string(i % 7)}}, "celsius",
                                20.0 + i * 0.125, 1700000000000000 + i * 1000));
  }
  for (auto f : {PayloadFormat::kLineProtocol, PayloadFormat::kJson}) {
    for (auto c : {Compression::kNone, Compression::kLz4}) {
      DYNAMIC_SECTION("format " << int(f) << " compression " << int(c)) {
        std::vector<std::string> units;
        for (const Sample& s : batch) units.push_back(unit(f, s));
        for (size_t max : {size_t{400}, size_t{4096}, size_t{1} << 20}) {
          PackResult r = pack_payloads(units, f, c, max);
          CHECK_FALSE(r.oversize);
          std::vector<Sample> got;
          for (const std::string& p : r.payloads) {
            CHECK(p.size() <= max);
            for (Sample& s : decode(f, c, p)) got.push_back(std::move(s));
          }
          check_same(got, batch);
          if (max == size_t{1} << 20) CHECK(r.payloads.size() == 1);
          if (max == 400) CHECK(r.payloads.size() > 5);
          // lz4 fills messages: far fewer than the uncompressed text needs.
          if (c == Compression::kLz4 && max == 4096) {
            CHECK(r.payloads.size() * 2 <
                  pack_payloads(units, f, Compression::kNone, max).payloads.size());
          }
        }
      }
    }
  }
}

TEST_CASE("a sample larger than max_bytes on its own is reported as oversize",
          "[export][mqtt][payload]") {
  const auto lp = PayloadFormat::kLineProtocol;
  std::vector<std::string> units = {unit(lp, make_sample("m", {}, "f", 1.0, 1)),
                                    unit(lp, make_sample("m", {}, "s", std::string(500, 'x'), 2)),
                                    unit(lp, make_sample("m", {}, "f", 2.0, 3))};
  PackResult r = pack_payloads(units, lp, Compression::kNone, 128);
  REQUIRE(r.oversize);
  CHECK(*r.oversize == 1);
  CHECK(r.oversize_bytes == units[1].size());
  // lz4 shrinks the repetitive string below the limit...
  CHECK_FALSE(pack_payloads(units, lp, Compression::kLz4, 128).oversize);
  // ...but not an incompressible one.
  std::mt19937 rng(42);
  std::string noise;
  for (int i = 0; i < 600; ++i) noise.push_back(static_cast<char>('a' + rng() % 26));
  units[1] = unit(lp, make_sample("m", {}, "s", noise, 2));
  r = pack_payloads(units, lp, Compression::kLz4, 256);
  REQUIRE(r.oversize);
  CHECK(*r.oversize == 1);
  CHECK(r.oversize_bytes > 256);
}

// Fuzz-style robustness tests: random and mutated payloads from a fixed seed.
// They must never crash, hang or throw, and every accepted point must satisfy
// the Point invariants. Failures print the seed, the iteration and the payload.
// FLOWDB_FUZZ_SEED / FLOWDB_FUZZ_ITERS override the seed and the LP iteration count.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <random>

#include "ingest/json_format.h"
#include "ingest/line_protocol.h"
#include "ingest/rfc3339.h"
#include "ingest/topic_parsing.h"
#include "test_util.h"

namespace flowdb::ingest {
namespace {

using testing::describe;
using testing::printable;

uint64_t env_or(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v ? std::strtoull(v, nullptr, 0) : fallback;
}

class Mutator {
 public:
  explicit Mutator(uint64_t seed) : rng_(seed) {}

  size_t below(size_t n) { return n == 0 ? 0 : rng_() % n; }

  void mutate(std::string* s, const std::vector<std::string>& corpus) {
    static const std::string kInteresting =
        ",= \\\"\n\r#\t0123456789.-+eEiutTfF{}[]:_/$\xff\xc3\x80";
    const size_t n = below(8);
    for (size_t k = 0; k < n; ++k) {
      switch (below(8)) {
        case 0:
          if (!s->empty()) (*s)[below(s->size())] = static_cast<char>(rng_());
          break;
        case 1:
          s->insert(s->begin() + below(s->size() + 1), kInteresting[below(kInteresting.size())]);
          break;
        case 2:
          if (!s->empty()) {
            const size_t at = below(s->size());
            s->erase(at, 1 + below(8));
          }
          break;
        case 3:
          if (!s->empty()) {
            const size_t at = below(s->size());
            const std::string piece = s->substr(at, 1 + below(16));
            s->insert(below(s->size() + 1), piece);
          }
          break;
        case 4:
          s->resize(below(s->size() + 1));
          break;
        case 5: {
          const std::string& other = corpus[below(corpus.size())];
          const size_t at = below(other.size() + 1);
          s->insert(below(s->size() + 1), other.substr(at, below(32)));
          break;
        }
        case 6:
          if (!s->empty()) (*s)[below(s->size())] = kInteresting[below(kInteresting.size())];
          break;
        default: {
          std::string junk(below(16), '\0');
          for (char& c : junk) c = static_cast<char>(rng_());
          s->insert(below(s->size() + 1), junk);
          break;
        }
      }
    }
  }

 private:
  std::mt19937_64 rng_;
};

std::vector<std::string> lp_corpus(uint64_t seed) {
  std::vector<std::string> corpus = {
      "myMeasurement,tag1=value1,tag2=value2 fieldKey=\"fieldValue\" 1556813561098000000",
      "cpu,host=server\\ 01,region=us-west value=1.0,msg=\"all systems nominal\"",
      "m f=1i,u=2u,b=true,s=\"a \\\"q\\\" \\\\\" -1556813561098000000",
      "my\\ m\\,x,t\\=k=v\\ a\\,b f\\ k=1.5e-3,g=-.5,h=1.",
      "# comment\n\n  m f=t 0\r\n",
      "温度,城市=東京 値=21.5,注=\"🙂\"",
      "m f=9223372036854775807i,g=18446744073709551615u,h=1.7976931348623157e308",
  };
  testing::RandomNames gen(static_cast<uint32_t>(seed));
  for (int i = 0; i < 200; ++i) {
    std::string line;
    const Point p = gen.point();
    if (append_line_protocol(&line, p, Precision::ns)) corpus.push_back(line);
  }
  return corpus;
}

TEST_CASE("Random and mutated line protocol never crashes and yields valid points",
          "[ingest][fuzz][lp]") {
  const uint64_t seed = env_or("FLOWDB_FUZZ_SEED", 0xF10DB);
  const uint64_t iters = env_or("FLOWDB_FUZZ_ITERS", 200000);
  const std::vector<std::string> corpus = lp_corpus(seed);
  Mutator mut(seed);

  // Reused parsers with varied options also exercise buffer reuse.
  std::vector<LineProtocolParser> parsers;
  for (int i = 0; i < 8; ++i) {
    LineProtocolOptions o;
    o.precision = static_cast<Precision>(i % 4);
    o.max_line_bytes = i == 5 ? 48 : 64 * 1024;
    o.max_string_bytes = i == 6 ? 3 : 64 * 1024;
    o.reject_reserved_names = i == 7;
    parsers.emplace_back(o);
  }
  LineProtocolOptions us;
  us.precision = Precision::us;
  LineProtocolParser reparser(us);

  size_t total_points = 0, total_errors = 0, failures = 0;
  std::string payload, line, problem;
  for (uint64_t iter = 0; iter < iters && failures < 3; ++iter) {
    payload.clear();
    const size_t nlines = 1 + mut.below(4);
    for (size_t i = 0; i < nlines; ++i) {
      if (i) payload += mut.below(4) == 0 ? "\r\n" : "\n";
      payload += corpus[mut.below(corpus.size())];
    }
    mut.mutate(&payload, corpus);
    if (mut.below(50) == 0) {  // Pure noise now and then.
      payload.assign(mut.below(64), '\0');
      for (char& c : payload) c = static_cast<char>(mut.below(256));
    }
    const size_t physical_lines = std::count(payload.begin(), payload.end(), '\n') + 1;
    LineProtocolParser& parser = parsers[iter % parsers.size()];

    problem.clear();
    auto on_point = [&](const Point& p) {
      if (std::string v = testing::point_invariant_violation(p); !v.empty()) {
        problem += v + " in " + describe(p) + "\n";
        return;
      }
      line.clear();
      if (!append_line_protocol(&line, p, Precision::us)) {
        // Only '#'/tab-initial measurements are unrepresentable after parsing.
        if (p.measurement[0] != '#' && p.measurement[0] != '\t') {
          problem += "not serializable: " + describe(p) + "\n";
        }
        return;
      }
      bool same = false;
      size_t n = 0;
      reparser.parse(
          line, p.ts_us, [&](const Point& q) { same = ++n == 1 && q == p; },
          [&](const ParseError&) { ++n; });
      if (!same) problem += "round trip changed " + describe(p) + " via " + printable(line) + "\n";
    };
    auto on_error = [&](const ParseError& e) {
      if (reason_name(e.reason) == "unknown" || e.message.empty() || e.line_no < 1 ||
          e.line_no > physical_lines) {
        problem += "bad error record line " + std::to_string(e.line_no) + "\n";
      }
    };
    ParseStats stats;
    try {
      stats = parser.parse(payload, 42, on_point, on_error);
    } catch (const std::exception& e) {
      problem += std::string("exception: ") + e.what() + "\n";
    }
    if (stats.points + stats.errors > physical_lines) problem += "more results than lines\n";
    total_points += stats.points;
    total_errors += stats.errors;
    if (!problem.empty()) {
      ++failures;
      FAIL_CHECK("seed " << seed << " iteration " << iter << " options#" << iter % parsers.size()
                         << "\npayload " << printable(payload) << "\n"
                         << problem);
    }
  }
  // The corpus and mutations produce a healthy mix of good and bad lines.
  CHECK(total_points > iters / 4);
  CHECK(total_errors > iters / 4);
}

TEST_CASE("Random and mutated JSON never crashes and yields valid points", "[ingest][fuzz][json]") {
  const uint64_t seed = env_or("FLOWDB_FUZZ_SEED", 0xF10DB);
  const uint64_t iters = env_or("FLOWDB_FUZZ_ITERS", 200000) / 4;
  const std::vector<std::string> corpus = {
      R"({"name":"cpu","host":"a","v":1.5,"n":3,"ok":true,"s":"x","t":1690000000})",
      R"([{"name":"m","v":1},{"name":"m","nested":{"a":[1,2,{"b":null}]},"t":"1690000000.5"}])",
      R"({"v":-1e308,"host":17,"t":"2023-07-22T04:26:40.5+02:00","u":18446744073709551615})",
      R"([1,"two",null,{"v":{"w":{"x":{"y":"\u00e9\n\"q\""}}}},[],{}])",
  };
  std::vector<JsonParser> parsers;
  for (int i = 0; i < 5; ++i) {
    JsonFormat f;
    f.measurement = i % 2 ? "fixed" : "";
    f.measurement_field = "name";
    f.tag_keys = {"host", "nested_a_0"};
    f.timestamp_field = "t";
    f.ts_format = static_cast<JsonFormat::TsFormat>(i);
    f.ints_as_int = i % 2 == 0;
    if (i == 4) f.field_keys = {"v", "s"};
    parsers.emplace_back(f);
  }
  Mutator mut(seed);
  size_t failures = 0, total_points = 0;
  std::string payload, problem;
  for (uint64_t iter = 0; iter < iters && failures < 3; ++iter) {
    payload = corpus[mut.below(corpus.size())];
    mut.mutate(&payload, corpus);
    problem.clear();
    ParseStats stats;
    try {
      stats = parsers[iter % parsers.size()].parse(
          payload, 42,
          [&](const Point& p) {
            if (std::string v = testing::point_invariant_violation(p); !v.empty()) {
              problem += v + " in " + describe(p) + "\n";
            }
          },
          [&](const ParseError& e) {
            if (reason_name(e.reason) == "unknown" || e.message.empty()) problem += "bad error\n";
          });
    } catch (const std::exception& e) {
      problem += std::string("exception: ") + e.what() + "\n";
    }
    total_points += stats.points;
    if (!problem.empty()) {
      ++failures;
      FAIL_CHECK("seed " << seed << " iteration " << iter << "\npayload " << printable(payload)
                         << "\n"
                         << problem);
    }
  }
  CHECK(total_points > iters / 10);
}

// Reference matcher straight from the spec's wording, on split levels.
bool reference_match(const std::vector<std::string>& f, size_t fi,
                     const std::vector<std::string>& t, size_t ti) {
  if (fi == f.size()) return ti == t.size();
  if (f[fi] == "#") return true;
  if (ti == t.size()) return false;
  if (f[fi] != "+" && f[fi] != t[ti]) return false;
  return reference_match(f, fi + 1, t, ti + 1);
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out(1);
  for (char c : s) {
    if (c == '/') {
      out.emplace_back();
    } else {
      out.back() += c;
    }
  }
  return out;
}

TEST_CASE("Topic matching agrees with a reference matcher on random inputs",
          "[ingest][fuzz][topic]") {
  const uint64_t seed = env_or("FLOWDB_FUZZ_SEED", 0xF10DB);
  std::mt19937_64 rng(seed);
  const char kAlphabet[] = {'a', 'b', '/', '/', '+', '#', '$'};
  auto random_string = [&](size_t max_len) {
    std::string s(rng() % (max_len + 1), 'a');
    for (char& c : s) c = kAlphabet[rng() % sizeof kAlphabet];
    return s;
  };
  size_t matches = 0;
  for (int i = 0; i < 200000; ++i) {
    const std::string filter = random_string(7);
    std::string topic = random_string(7);
    if (i % 2) std::erase_if(topic, [](char c) { return c == '+' || c == '#'; });
    const bool valid = valid_topic_filter(filter) && valid_topic_name(topic);
    bool expected = valid && reference_match(split(filter), 0, split(topic), 0);
    if (valid && topic[0] == '$' && (filter[0] == '+' || filter[0] == '#')) expected = false;
    matches += expected;
    if (topic_matches(filter, topic) != expected) {
      FAIL("seed " << seed << " filter " << printable(filter) << " topic " << printable(topic));
    }
  }
  CHECK(matches > 1000);
}

TEST_CASE("Random strings never break the RFC 3339 parser", "[ingest][fuzz][rfc3339]") {
  const uint64_t seed = env_or("FLOWDB_FUZZ_SEED", 0xF10DB);
  Mutator mut(seed);
  const std::vector<std::string> corpus = {"2023-07-22T04:26:40.123456789+02:00",
                                           "0000-01-01T00:00:00Z", "9999-12-31T23:59:59.9Z"};
  size_t ok = 0;
  for (int i = 0; i < 100000; ++i) {
    std::string s = corpus[mut.below(corpus.size())];
    mut.mutate(&s, corpus);
    int64_t us = 0;
    if (parse_rfc3339(s, &us)) {
      ++ok;
      // Anything accepted is within the representable years (offsets may cross).
      if (us < -62167219200000000 - 86400000000LL || us > 253402300799999999 + 86400000000LL) {
        FAIL("seed " << seed << " " << printable(s) << " -> " << us);
      }
    }
  }
  CHECK(ok > 100);
}

}  // namespace
}  // namespace flowdb::ingest

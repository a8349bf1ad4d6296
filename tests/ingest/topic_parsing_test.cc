#include "ingest/topic_parsing.h"

#include <catch2/catch.hpp>

namespace flowdb::ingest {
namespace {

using namespace std::literals;

TEST_CASE("Topic filters accept wildcards only as whole levels", "[ingest][topic]") {
  for (const char* f : {"#", "+", "a", "a/#", "a/+/b", "+/+", "/", "a//b", "/+", "+/#", "$SYS/#",
                        "sport/tennis/player1/#", "é/+"}) {
    INFO(f);
    CHECK(valid_topic_filter(f));
  }
  for (const std::string& f : {""s, "a#"s, "a/#/b"s, "a/b#"s, "#/a"s, "##"s, "a+"s, "a/+b"s, "++"s,
                               "a\0b"s, "\xff"s, std::string(65536, 'a')}) {
    INFO(f.substr(0, 16));
    CHECK_FALSE(valid_topic_filter(f));
  }
  CHECK(valid_topic_filter(std::string(65535, 'a')));
}

TEST_CASE("Topic names reject wildcards, NUL and bad UTF-8", "[ingest][topic]") {
  for (const char* t : {"a", "a/b", "/", "//", "$SYS/x", "a b/c"}) {
    INFO(t);
    CHECK(valid_topic_name(t));
  }
  for (const std::string& t : {""s, "a/+"s, "a/#"s, "+"s, "a\0"s, "\xc3\x28"s}) {
    CHECK_FALSE(valid_topic_name(t));
  }
}

TEST_CASE("Multi-level wildcard matching follows the MQTT spec", "[ingest][topic]") {
  const char* f = "sport/tennis/player1/#";
  CHECK(topic_matches(f, "sport/tennis/player1"));
  CHECK(topic_matches(f, "sport/tennis/player1/ranking"));
  CHECK(topic_matches(f, "sport/tennis/player1/score/wimbledon"));
  CHECK_FALSE(topic_matches(f, "sport/tennis/player2"));
  CHECK_FALSE(topic_matches(f, "sport/tennis"));
  CHECK(topic_matches("sport/#", "sport"));
  CHECK(topic_matches("sport/#", "sport/"));
  CHECK(topic_matches("#", "sport/tennis"));
  CHECK(topic_matches("#", "/"));
  CHECK(topic_matches("+/#", "a"));
  CHECK_FALSE(topic_matches("sport/#", "sports"));
}

TEST_CASE("Single-level wildcard matching follows the MQTT spec", "[ingest][topic]") {
  CHECK(topic_matches("sport/tennis/+", "sport/tennis/player1"));
  CHECK(topic_matches("sport/tennis/+", "sport/tennis/player2"));
  CHECK_FALSE(topic_matches("sport/tennis/+", "sport/tennis/player1/ranking"));
  CHECK_FALSE(topic_matches("sport/+", "sport"));
  CHECK(topic_matches("sport/+", "sport/"));
  CHECK(topic_matches("+/+", "/finance"));
  CHECK(topic_matches("/+", "/finance"));
  CHECK_FALSE(topic_matches("+", "/finance"));
  CHECK(topic_matches("+", "a"));
  CHECK(topic_matches("a/+/c", "a//c"));
  CHECK(topic_matches("+/+/+", "//"));
  CHECK(topic_matches("sport/+/player1", "sport/tennis/player1"));
}

TEST_CASE("Literal levels match exactly and case-sensitively", "[ingest][topic]") {
  CHECK(topic_matches("a/b", "a/b"));
  CHECK_FALSE(topic_matches("a/b", "a/b/"));
  CHECK_FALSE(topic_matches("a/b/", "a/b"));
  CHECK(topic_matches("a/b/", "a/b/"));
  CHECK_FALSE(topic_matches("ACCOUNTS", "Accounts"));
  CHECK_FALSE(topic_matches("a/b", "a/bc"));
  CHECK_FALSE(topic_matches("a/bc", "a/b"));
  CHECK_FALSE(topic_matches("a+", "a+"));    // Invalid filter never matches.
  CHECK_FALSE(topic_matches("a/+", "a/+"));  // Invalid topic never matches.
}

TEST_CASE("Topics starting with $ are not matched by leading wildcards", "[ingest][topic]") {
  CHECK_FALSE(topic_matches("#", "$SYS"));
  CHECK_FALSE(topic_matches("#", "$SYS/broker/load"));
  CHECK_FALSE(topic_matches("+/monitor/Clients", "$SYS/monitor/Clients"));
  CHECK(topic_matches("$SYS/#", "$SYS/monitor/Clients"));
  CHECK(topic_matches("$SYS/monitor/+", "$SYS/monitor/Clients"));
  CHECK(topic_matches("$SYS", "$SYS"));
  CHECK(topic_matches("a/#", "a/$b"));  // '$' only matters on the first level.
  CHECK(topic_matches("+/x", "a$/x"));
}

TopicParser make(std::vector<TopicParsingRule> rules) {
  std::string error;
  auto parser = TopicParser::create(std::move(rules), &error);
  INFO(error);
  REQUIRE(parser.has_value());
  return std::move(*parser);
}

TEST_CASE("A topic_parsing rule sets measurement and tags from topic levels", "[ingest][topic]") {
  const TopicParser parser = make({{"sensors/+/+/#", "_/measurement/_", "_/_/site"}});
  Point p;
  p.measurement = "payload_name";
  p.tags = {{"a", "1"}, {"site", "payload_site"}};
  REQUIRE(parser.apply("sensors/temp/plant1/x/y", &p));
  CHECK(p.measurement == "temp");
  CHECK(p.tags == std::vector<Tag>{{"a", "1"}, {"site", "plant1"}});  // Topic wins.
}

TEST_CASE("Templates reach into levels matched by a trailing #", "[ingest][topic]") {
  const TopicParser parser = make({{"plant/#", "_/measurement", "_/_/line/machine"}});
  Point p;
  REQUIRE(parser.apply("plant/vibration/l1/m7", &p));
  CHECK(p.measurement == "vibration");
  CHECK(p.tags == std::vector<Tag>{{"line", "l1"}, {"machine", "m7"}});
  Point q;
  q.measurement = "keep";
  REQUIRE(parser.apply("plant", &q));  // '#' matches the parent: nothing to extract.
  CHECK(q.measurement == "keep");
  CHECK(q.tags.empty());
  Point r;
  REQUIRE(parser.apply("plant/power//m1", &r));  // Empty level sets nothing.
  CHECK(r.tags == std::vector<Tag>{{"machine", "m1"}});
}

TEST_CASE("The first matching rule wins and non-matching topics are untouched", "[ingest][topic]") {
  const TopicParser parser = make({
      {"a/+", "_/measurement", ""},
      {"a/#", "", "_/first/second"},
      {"b/+/+", "", "_/x/y"},
  });
  Point p;
  REQUIRE(parser.apply("a/cpu", &p));
  CHECK(p.measurement == "cpu");
  CHECK(p.tags.empty());
  Point q;
  REQUIRE(parser.apply("a/1/2", &q));
  CHECK(q.measurement.empty());
  CHECK(q.tags == std::vector<Tag>{{"first", "1"}, {"second", "2"}});
  Point r;
  r.measurement = "m";
  CHECK_FALSE(parser.apply("c/1", &r));
  CHECK_FALSE(parser.apply("a/+", &r));  // Not a valid topic name.
  CHECK(r.measurement == "m");
  CHECK(r.tags.empty());
  CHECK_FALSE(TopicParser().apply("a", &r));
}

TEST_CASE("Invalid topic_parsing rules are refused with a message", "[ingest][topic]") {
  const std::vector<std::pair<TopicParsingRule, std::string>> cases = {
      {{"a/#/b", "", ""}, "invalid topic filter"},
      {{"a/+", "measurement", ""}, "measurement template level count"},
      {{"a/+", "", "_/x/y"}, "tags template level count"},
      {{"a/+", "measurement/measurement", ""}, "exactly one"},
      {{"a/+", "_/name", ""}, "exactly one"},
      {{"a/+", "_/_", ""}, "exactly one"},
      {{"a/+/+", "", "_/x/x"}, "duplicate"},
  };
  for (const auto& [rule, why] : cases) {
    std::string error;
    INFO(rule.topic << " | " << rule.measurement << " | " << rule.tags);
    CHECK_FALSE(TopicParser::create({{"ok/+", "_/measurement", ""}, rule}, &error).has_value());
    CHECK_THAT(error,
               Catch::Contains("rule 2") && Catch::Contains(why) && Catch::Contains(rule.topic));
  }
}

}  // namespace
}  // namespace flowdb::ingest

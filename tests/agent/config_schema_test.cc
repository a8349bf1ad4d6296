// ParsedTable lookups: a key the spec declares but the file omits reads its
// default (or ""/0), a key the spec does not declare is a programming error.
#include "agent/core/config_schema.h"

#include <yaml-cpp/yaml.h>

#include <catch2/catch.hpp>
#include <stdexcept>

#include "ingest/mqtt/mqtt_input.h"

namespace {
using flowdb::agent::parse_table;

std::shared_ptr<flowdb::agent::ParsedTable> mqtt_table(const std::string& yaml) {
  return parse_table(YAML::Load(yaml), flowdb::ingest_mqtt::mqtt_config_keys(), "t.yaml",
                     "inputs.mqtt[0]");
}
}  // namespace

TEST_CASE("a lookup of an undeclared key throws logic_error naming the table and key",
          "[config][schema]") {
  auto t = mqtt_table("{username: u}");
  CHECK_THROWS_MATCHES(t->str("pasword"), std::logic_error,
                       Catch::Message("programming error: inputs.mqtt[0] has no key 'pasword'"));
  CHECK_THROWS_AS(t->boolean("clean_sesion"), std::logic_error);
  CHECK_THROWS_AS(t->integer("qoss"), std::logic_error);
  CHECK_THROWS_AS(t->opt_integer("qoss"), std::logic_error);
  CHECK_THROWS_AS(t->list("topic"), std::logic_error);
  CHECK_THROWS_AS(t->table("tsl"), std::logic_error);
  CHECK_THROWS_AS(t->tables("topic_parse"), std::logic_error);
  CHECK_THROWS_AS(t->table("tls")->str("ca"), std::logic_error);
}

TEST_CASE("a declared key the file omits reads its default or empty", "[config][schema]") {
  auto t = mqtt_table("{username: u}");
  CHECK(t->str("username") == "u");
  CHECK(t->str("password").empty());
  CHECK(t->str("client_id").empty());
  CHECK(t->integer("qos") == 1);
  CHECK_FALSE(t->boolean("clean_session"));
  CHECK(t->tables("topic_parsing").empty());
  CHECK(t->table("tls")->boolean("verify"));
  CHECK(t->table("tls")->str("ca_file").empty());
}

TEST_CASE("a hand-made table without a spec does not check keys", "[config][schema]") {
  flowdb::agent::ParsedTable t;
  CHECK(t.str("anything").empty());
  CHECK(t.integer("anything") == 0);
}

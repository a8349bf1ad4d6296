#include "ingest/ttl_rules.h"

#include <catch2/catch.hpp>

using flowdb::ingest::TtlRules;

TEST_CASE("TTL rules pick the first matching glob, else the default", "[ingest][ttl]") {
  TtlRules rules({{"vibration*", 2 * 86400}, {"temp?", 3600}}, 7 * 86400);
  CHECK(rules.ttl_for("vibration_x") == 2 * 86400);
  CHECK(rules.ttl_for("temp1") == 3600);
  CHECK(rules.ttl_for("temp12") == 7 * 86400);
  CHECK(rules.ttl_for("") == 7 * 86400);
  CHECK_FALSE(TtlRules({}, std::nullopt).ttl_for("x"));
}

// Helpers of the PromQL parser tests: the dump of a query that must parse,
// the message of one that must not.
#pragma once

#include <catch2/catch.hpp>
#include <string>
#include <string_view>

#include "agent/promql/parser.h"

namespace flowdb::promql::testing {

inline std::string tree(std::string_view query) {
  INFO("query: " << query);
  ParseResult r = parse(query);
  if (!r.ok()) FAIL(r.error().to_string());
  return dump(r.expr());
}

inline std::string error_of(std::string_view query) {
  INFO("query: " << query);
  ParseResult r = parse(query);
  if (r.ok()) FAIL("parsed as " << dump(r.expr()));
  return r.error().message;
}

}  // namespace flowdb::promql::testing

// The local query API shared by GET /api/v1/query and `flowdb query`:
// parameter parsing, engine scan and the json / lp / csv renderings.
//
//   series=MEASUREMENT[,TAG=VALUE...]  records of that measurement whose tags
//                                      include the given ones (empty: all)
//   field=NAME                         only this field
//   start=T, end=T                     inclusive; RFC 3339, "now", "-15m"
//                                      (relative to now), or an integer with
//                                      unit s/ms/us/ns (bare: seconds)
//   format=json|lp|csv                 default json
//   limit=N                            at most N records (capped by the server)
//
// Thread-safety: free functions; the engine is thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "flowdb/engine.h"
#include "ingest/point.h"

namespace flowdb::agent {

// A bad request: the HTTP status to return and a message.
class QueryError : public std::runtime_error {
 public:
  QueryError(int status, const std::string& msg) : std::runtime_error(msg), status_(status) {}
  int status() const { return status_; }

 private:
  int status_;
};

struct QueryRequest {
  enum class Format { kJson, kLp, kCsv };
  std::string measurement;  // empty: all measurements
  std::vector<ingest::Tag> tags;
  std::string field;
  int64_t start_us = INT64_MIN, end_us = INT64_MAX;
  Format format = Format::kJson;
  size_t limit = 0;
};

// `get` returns a parameter's value or nullopt. Throws QueryError(400).
QueryRequest parse_query_request(
    const std::function<std::optional<std::string>(std::string_view)>& get, int64_t now_us,
    size_t max_limit);
// Parses a time parameter (see above). Returns false if malformed.
bool parse_time_param(std::string_view s, int64_t now_us, int64_t* out);

struct QueryResult {
  std::string body;
  std::string content_type;
  size_t count = 0;
  bool truncated = false;
};
QueryResult run_query(Engine& engine, const QueryRequest& req);

// {"error": message} for error bodies.
std::string json_error(std::string_view message);
void append_json_string(std::string* out, std::string_view s);

}  // namespace flowdb::agent

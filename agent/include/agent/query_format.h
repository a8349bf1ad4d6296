// The local query API shared by GET /api/v1/export, GET /api/v1/export/series and
// `flowdb query`: parameter parsing, engine scan and the json / lp / csv
// renderings, streamed to a QuerySink with bounded memory.
//
//   series=MEASUREMENT[,TAG=VALUE...]  records of that measurement whose tags
//                                      include the given ones (empty: all).
//                                      Escaped as in line protocol: '\,' '\ '
//                                      and '\=' in tags ('\,' '\ ' in the
//                                      measurement), '\\' is one backslash.
//   field=NAME                         only this field
//   start=T, end=T                     inclusive; RFC 3339, "now", "now-1h",
//                                      "-15m", "-1h30m" (relative to now;
//                                      units w d h m s ms us), or an integer
//                                      with unit s/ms/us/ns (bare: seconds)
//   format=json|lp|csv                 default json
//   order=asc|desc                     asc (default): by series key, then
//                                      time; desc: newest first across all
//                                      selected series, so `limit` keeps the
//                                      newest points
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
#include "ingest/series_key.h"

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
  bool desc = false;
  size_t limit = 0;
};

// `get` returns a parameter's value or nullopt. Throws QueryError(400).
QueryRequest parse_query_request(
    const std::function<std::optional<std::string>(std::string_view)>& get, int64_t now_us,
    size_t max_limit);
// Parses a time parameter (see above). Returns false if malformed.
bool parse_time_param(std::string_view s, int64_t now_us, int64_t* out);
// Splits the series parameter at unescaped commas and unescapes it. Throws
// QueryError(400).
void parse_series_param(std::string_view s, QueryRequest* q);

// Receives a query's output: begin() once, then write()s. Either returning
// false stops the query (the client went away, or HEAD needs no body).
class QuerySink {
 public:
  virtual ~QuerySink() = default;
  // `truncated`: more records matched than the limit allowed. `total`: the
  // size of the whole body when it is known before the first write.
  virtual bool begin(const std::string& content_type, bool truncated,
                     std::optional<size_t> total) = 0;
  virtual bool write(std::string_view data) = 0;
};

struct QueryStats {
  size_t count = 0;
  bool truncated = false;
};
// Streams the result to `sink` from one snapshot of the engine, holding at
// most about `flush_bytes` of output (and, for order=desc, one time window of
// at most a few thousand records) at a time. If the output outgrows
// `flush_bytes` before the scan ends, a counting pass over the same snapshot
// decides `truncated` before begin().
QueryStats run_query(Engine& engine, const QueryRequest& req, QuerySink& sink,
                     size_t flush_bytes = 64 * 1024);

// Streams {"series":[{"measurement":M,"tags":{K:V...},"fields":[F...]}...],
// "count":N} for the series of `req` (measurement, tags, field, start, end)
// with a point in the time range, in key order. Visits each series key once
// (it seeks past a key's points), so memory is one series at a time.
void list_series(Engine& engine, const QueryRequest& req, QuerySink& sink,
                 size_t flush_bytes = 64 * 1024);

struct QueryResult {
  std::string body;
  std::string content_type;
  size_t count = 0;
  bool truncated = false;
};
// The whole result in memory (for `flowdb query` and tests).
QueryResult run_query(Engine& engine, const QueryRequest& req);

// --- Rendering (query_format.cc).
std::string_view content_type(QueryRequest::Format f);
std::string_view result_header(QueryRequest::Format f);  // before the first record
std::string result_footer(QueryRequest::Format f, const QueryStats& s);
void append_record(std::string* out, QueryRequest::Format f, const Record& r,
                   const ingest::SeriesKeyParts& parts, const ingest::FieldValue& value,
                   bool first);

// {"error": message} for error bodies.
std::string json_error(std::string_view message);
void append_json_string(std::string* out, std::string_view s);
// {"k":"v",...}
void append_json_tags(std::string* out, const std::vector<ingest::Tag>& tags);

}  // namespace flowdb::agent

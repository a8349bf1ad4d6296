// Request parameters of the Prometheus HTTP API (prom_api.h): form decoding
// of the query string and of a form POST body, and Prometheus's time and
// duration parameter syntax, with its error messages.
//
// Thread-safety: plain values and free functions.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace flowdb::agent {

// A bad parameter: the API answers 400 with errorType "bad_data".
class BadData : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The parameters of one request: a form POST body's first, then the query
// string's (Go's Request.FormValue order), each URL-decoded.
class PromParams {
 public:
  // Appends the pairs of an application/x-www-form-urlencoded string.
  void add_form(std::string_view encoded);

  // The first value of `name`, or nullopt.
  std::optional<std::string> get(std::string_view name) const;
  // Every value of `name` (e.g. "match[]"), in order.
  std::vector<std::string> all(std::string_view name) const;

 private:
  std::vector<std::pair<std::string, std::string>> kv_;
};

// Prometheus's parseTime: Unix seconds with a fraction ("1700000000.5") or
// RFC 3339, to milliseconds. Throws BadData `invalid parameter "<param>":
// cannot parse "<v>" to a valid timestamp`.
int64_t parse_prom_time(std::string_view v, std::string_view param);
// Prometheus's parseDuration: seconds with a fraction ("15", "0.5") or a
// duration ("1m30s"), to milliseconds. Throws BadData like parse_prom_time.
int64_t parse_prom_duration(std::string_view v, std::string_view param);

// The API's "no limit" times (Prometheus's minTime / maxTime), ms.
inline constexpr int64_t kPromMinTime = -9223372036854775807LL / 1000;
inline constexpr int64_t kPromMaxTime = 9223372036854775807LL / 1000;

}  // namespace flowdb::agent

// Number and duration literals as Prometheus reads them (strconv.ParseInt /
// ParseFloat, model.ParseDuration).
#include <charconv>
#include <cstdint>
#include <limits>

#include "duration_units.h"
#include "parser_internal.h"

namespace flowdb::promql::internal {

double parse_number(const Token& t) {
  std::string s = lower(t.text);
  if (s == "inf") return std::numeric_limits<double>::infinity();
  if (s == "nan") return std::numeric_limits<double>::quiet_NaN();
  const char* b = s.data();
  const char* e = s.data() + s.size();
  // ParseInt with base 0: 0x hex, a leading 0 octal, else decimal.
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && s[1] == 'x') {
    base = 16, b += 2;
  } else if (s.size() > 1 && s[0] == '0') {
    base = 8, b += 1;
  }
  std::int64_t i = 0;
  auto [ip, iec] = std::from_chars(b, e, i, base);
  if (iec == std::errc() && ip == e) return static_cast<double>(i);
  double d = 0;
  auto [fp, fec] = std::from_chars(s.data(), e, d);
  if (fec == std::errc() && (fp == e || (fp + 1 == e && *fp == '.'))) return d;
  throw SyntaxError{
      t.pos, "error parsing number: strconv.ParseFloat: parsing \"" + std::string(t.text) + "\": " +
                 (fec == std::errc::result_out_of_range ? "value out of range" : "invalid syntax")};
}

// ^((\d+)y)?((\d+)w)?((\d+)d)?((\d+)h)?((\d+)m)?((\d+)s)?((\d+)ms)?$, or "0".
std::optional<Duration> parse_duration(std::string_view s) {
  if (s == "0") return Duration{0};
  if (s.empty()) return std::nullopt;
  std::size_t next_unit = 0;
  std::int64_t total = 0;
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == start) return std::nullopt;
    std::int64_t n = 0;
    auto [p, ec] = std::from_chars(s.data() + start, s.data() + i, n);
    if (ec != std::errc()) return std::nullopt;
    std::size_t u_start = i;
    while (i < s.size() && (s[i] < '0' || s[i] > '9')) ++i;
    std::string_view unit = s.substr(u_start, i - u_start);
    std::size_t k = next_unit;
    while (k < std::size(kDurationUnits) && kDurationUnits[k].first != unit) ++k;
    if (k == std::size(kDurationUnits)) return std::nullopt;  // unknown, repeated or out of order
    if (n > std::numeric_limits<std::int64_t>::max() / kDurationUnits[k].second)
      return std::nullopt;
    total += n * kDurationUnits[k].second;
    if (total < 0) return std::nullopt;
    next_unit = k + 1;
  }
  return Duration{total};
}

}  // namespace flowdb::promql::internal

// Parameters of the query API (see query_format.h).
#include <charconv>

#include "agent/core/config_schema.h"
#include "agent/query_format.h"
#include "ingest/rfc3339.h"

namespace flowdb::agent {
namespace {

// Splits at `sep` bytes not preceded by an escaping backslash; the pieces
// keep their escapes.
std::vector<std::string_view> split_unescaped(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      ++i;
    } else if (s[i] == sep) {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  out.push_back(s.substr(start));
  return out;
}

// Line protocol unescaping: "\\" and a backslash before one of `special`
// give the next byte; any other backslash is literal.
std::string unescape(std::string_view s, std::string_view special) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size() &&
        (s[i + 1] == '\\' || special.find(s[i + 1]) != std::string_view::npos)) {
      ++i;
    }
    out.push_back(s[i]);
  }
  return out;
}

// "1h30m", "90s", "2d12h": one or more number+unit terms.
bool parse_multi_duration_us(std::string_view s, int64_t* out) {
  int64_t total = 0;
  if (s.empty()) return false;
  while (!s.empty()) {
    size_t i = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    size_t j = i;
    while (j < s.size() && !(s[j] >= '0' && s[j] <= '9')) ++j;
    int64_t d;
    if (i == 0 || !parse_duration_us(s.substr(0, j), &d)) return false;
    if (__builtin_add_overflow(total, d, &total)) return false;
    s.remove_prefix(j);
  }
  *out = total;
  return true;
}

bool parse_integer_time(std::string_view s, int64_t* out) {
  size_t i = (!s.empty() && s[0] == '-') ? 1 : 0;
  size_t digits_end = i;
  while (digits_end < s.size() && s[digits_end] >= '0' && s[digits_end] <= '9') ++digits_end;
  if (digits_end == i) return false;
  int64_t v;
  auto r = std::from_chars(s.data(), s.data() + digits_end, v);
  if (r.ec != std::errc()) return false;
  std::string_view unit = s.substr(digits_end);
  // Checked multiplication instead of __int128, which 32-bit ARM lacks.
  int64_t scale = 0;
  if (unit.empty() || unit == "s") {
    scale = 1000000;
  } else if (unit == "ms") {
    scale = 1000;
  } else if (unit == "us") {
    scale = 1;
  } else if (unit == "ns") {
    *out = v / 1000;
    return true;
  } else {
    return false;
  }
  return !__builtin_mul_overflow(v, scale, out);
}

// "-1h30m" / "+5m" relative to now_us.
bool parse_offset(std::string_view s, int64_t now_us, int64_t* out) {
  int64_t d;
  if (s.size() < 2 || (s[0] != '-' && s[0] != '+') || !parse_multi_duration_us(s.substr(1), &d)) {
    return false;
  }
  return s[0] == '-' ? !__builtin_sub_overflow(now_us, d, out)
                     : !__builtin_add_overflow(now_us, d, out);
}

QueryRequest::Format parse_format(const std::string& f) {
  if (f == "json") return QueryRequest::Format::kJson;
  if (f == "lp") return QueryRequest::Format::kLp;
  if (f == "csv") return QueryRequest::Format::kCsv;
  throw QueryError(400, "format: unknown '" + f + "'; expected json, lp or csv");
}

}  // namespace

bool parse_time_param(std::string_view s, int64_t now_us, int64_t* out) {
  if (s == "now") {
    *out = now_us;
    return true;
  }
  if (s.substr(0, 3) == "now") return parse_offset(s.substr(3), now_us, out);
  // "-15m" (a unit at the end); "-15" is an integer time.
  if (s.size() > 1 && s[0] == '-' && !(s.back() >= '0' && s.back() <= '9') &&
      parse_offset(s, now_us, out)) {
    return true;
  }
  if (ingest::parse_rfc3339(s, out)) return true;
  return parse_integer_time(s, out);
}

void parse_series_param(std::string_view s, QueryRequest* q) {
  auto parts = split_unescaped(s, ',');
  q->measurement = unescape(parts[0], ", ");
  if (q->measurement.empty())
    throw QueryError(400, "series: empty measurement; expected MEASUREMENT[,TAG=VALUE...]");
  for (size_t i = 1; i < parts.size(); ++i) {
    auto kv = split_unescaped(parts[i], '=');
    if (kv.size() != 2 || kv[0].empty()) {
      throw QueryError(400, "series: bad tag '" + std::string(parts[i]) +
                                "'; expected TAG=VALUE (escape ',', ' ' and '=' with '\\')");
    }
    q->tags.emplace_back(unescape(kv[0], ",= "), unescape(kv[1], ",= "));
  }
}

QueryRequest parse_query_request(
    const std::function<std::optional<std::string>(std::string_view)>& get, int64_t now_us,
    size_t max_limit) {
  QueryRequest q;
  if (auto s = get("series"); s && !s->empty()) parse_series_param(*s, &q);
  if (auto f = get("field")) q.field = *f;
  static const char* kTimeHelp =
      "'; expected RFC 3339, now, now-1h, -15m, -1h30m or an integer with unit s/ms/us/ns";
  if (auto s = get("start"); s && !parse_time_param(*s, now_us, &q.start_us)) {
    throw QueryError(400, "start: bad time '" + *s + kTimeHelp);
  }
  if (auto s = get("end"); s && !parse_time_param(*s, now_us, &q.end_us)) {
    throw QueryError(400, "end: bad time '" + *s + kTimeHelp);
  }
  if (q.start_us > q.end_us) throw QueryError(400, "start is after end");
  if (auto f = get("format")) q.format = parse_format(*f);
  if (auto o = get("order")) {
    if (*o != "asc" && *o != "desc")
      throw QueryError(400, "order: unknown '" + *o + "'; expected asc or desc");
    q.desc = *o == "desc";
  }
  q.limit = max_limit;
  if (auto l = get("limit")) {
    size_t n = 0;
    auto r = std::from_chars(l->data(), l->data() + l->size(), n);
    if (r.ec != std::errc() || r.ptr != l->data() + l->size() || n == 0) {
      throw QueryError(400, "limit: bad value '" + *l + "'; expected a positive integer");
    }
    q.limit = std::min(n, max_limit);
  }
  return q;
}

}  // namespace flowdb::agent

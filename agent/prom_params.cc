// Prometheus API parameters (prom_params.h).
#include "agent/prom_params.h"

#include <charconv>
#include <cmath>
#include <limits>

#include "ingest/rfc3339.h"

namespace flowdb::agent {
namespace {

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string url_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// Go's strconv.ParseFloat for the plain decimal forms clients send.
std::optional<double> parse_float(std::string_view v) {
  if (v.empty()) return std::nullopt;
  double d = 0;
  const char* end = v.data() + v.size();
  auto [p, ec] = std::from_chars(v.data() + (v[0] == '+' ? 1 : 0), end, d);
  if (ec != std::errc() || p != end) return std::nullopt;
  return d;
}

[[noreturn]] void bad(std::string_view param, std::string_view v, std::string_view what) {
  std::string m = "invalid parameter \"";
  m += param;
  m += "\": cannot parse \"";
  m += v;
  m += "\" to a valid ";
  m += what;
  throw BadData(m);
}

// model.ParseDuration: [0-9]+(y|w|d|h|m|s|ms), largest unit first, each once.
std::optional<int64_t> parse_units(std::string_view s) {
  static constexpr std::pair<std::string_view, int64_t> kUnits[] = {{"y", 365LL * 86400000},
                                                                    {"w", 7LL * 86400000},
                                                                    {"d", 86400000},
                                                                    {"h", 3600000},
                                                                    {"m", 60000},
                                                                    {"s", 1000},
                                                                    {"ms", 1}};
  if (s.empty()) return std::nullopt;
  if (s == "0") return 0;
  int64_t total = 0;
  size_t next_unit = 0, i = 0;
  while (i < s.size()) {
    size_t j = i;
    while (j < s.size() && s[j] >= '0' && s[j] <= '9') ++j;
    if (j == i) return std::nullopt;
    int64_t n = 0;
    if (std::from_chars(s.data() + i, s.data() + j, n).ec != std::errc()) return std::nullopt;
    size_t k = j;
    while (k < s.size() && (s[k] < '0' || s[k] > '9')) ++k;
    const std::string_view unit = s.substr(j, k - j);
    size_t u = next_unit;
    while (u < std::size(kUnits) && kUnits[u].first != unit) ++u;
    if (u == std::size(kUnits)) return std::nullopt;
    int64_t part;
    if (__builtin_mul_overflow(n, kUnits[u].second, &part) ||
        __builtin_add_overflow(total, part, &total)) {
      return std::nullopt;
    }
    next_unit = u + 1;
    i = k;
  }
  return total;
}

}  // namespace

void PromParams::add_form(std::string_view encoded) {
  while (!encoded.empty()) {
    const size_t amp = encoded.find('&');
    const std::string_view pair = encoded.substr(0, amp);
    encoded = amp == std::string_view::npos ? std::string_view() : encoded.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    kv_.emplace_back(url_decode(pair.substr(0, eq)),
                     eq == std::string_view::npos ? "" : url_decode(pair.substr(eq + 1)));
  }
}

std::optional<std::string> PromParams::get(std::string_view name) const {
  for (const auto& [k, v] : kv_) {
    if (k == name) return v;
  }
  return std::nullopt;
}

std::vector<std::string> PromParams::all(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : kv_) {
    if (k == name) out.push_back(v);
  }
  return out;
}

int64_t parse_prom_time(std::string_view v, std::string_view param) {
  if (std::optional<double> s = parse_float(v)) {
    // As Prometheus: whole seconds, plus the fraction rounded to ms.
    double whole;
    const double frac = std::modf(*s, &whole);
    if (std::isfinite(*s) && std::fabs(whole) < 9.2e15) {
      return static_cast<int64_t>(whole) * 1000 + static_cast<int64_t>(std::round(frac * 1000));
    }
    bad(param, v, "timestamp");
  }
  // Prometheus's minTime / maxTime as clients send them back.
  if (v == "-292273086-05-16T16:47:06Z") return kPromMinTime;
  if (v == "292277025-08-18T07:12:54.999999999Z") return kPromMaxTime;
  int64_t us;
  if (!ingest::parse_rfc3339(v, &us)) bad(param, v, "timestamp");
  return us >= 0 ? us / 1000 : -((-(us + 1)) / 1000) - 1;
}

int64_t parse_prom_duration(std::string_view v, std::string_view param) {
  if (std::optional<double> s = parse_float(v)) {
    const double ms = *s * 1000;
    if (!std::isfinite(ms) || std::fabs(ms) >= 9.2e18) {
      throw BadData("invalid parameter \"" + std::string(param) + "\": cannot parse \"" +
                    std::string(v) + "\" to a valid duration. It overflows int64");
    }
    return static_cast<int64_t>(ms);
  }
  if (std::optional<int64_t> d = parse_units(v)) return *d;
  bad(param, v, "duration");
}

}  // namespace flowdb::agent

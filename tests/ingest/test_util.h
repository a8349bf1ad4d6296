// Shared helpers for the ingest tests: invariant checks, printing, generators.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/point.h"
#include "ingest/utf8.h"

namespace flowdb::ingest::testing {

// Renders bytes with C escapes so failures print unambiguously.
inline std::string printable(std::string_view s) {
  static const char* kHex = "0123456789abcdef";
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out + "\"";
}

inline std::string describe(const FieldValue& v) {
  switch (v.index()) {
    case 0:
      return "double:" + std::to_string(std::get<double>(v));
    case 1:
      return "int:" + std::to_string(std::get<int64_t>(v));
    case 2:
      return "uint:" + std::to_string(std::get<uint64_t>(v));
    case 3:
      return std::get<bool>(v) ? "bool:true" : "bool:false";
    default:
      return "string:" + printable(std::get<std::string>(v));
  }
}

inline std::string describe(const Point& p) {
  std::string s = "Point{" + printable(p.measurement) + " tags[";
  for (const auto& [k, v] : p.tags) s += printable(k) + "=" + printable(v) + " ";
  s += "] fields[";
  for (const auto& [k, v] : p.fields) s += printable(k) + "=" + describe(v) + " ";
  s += "] ts_us=" + std::to_string(p.ts_us) + (p.has_ts ? "" : " (default)") + "}";
  return s;
}

// Returns "" if `p` satisfies the invariants documented on Point, else what is wrong.
inline std::string point_invariant_violation(const Point& p) {
  if (p.measurement.empty() || !valid_utf8(p.measurement)) return "bad measurement";
  for (size_t i = 0; i < p.tags.size(); ++i) {
    const auto& [k, v] = p.tags[i];
    if (k.empty() || v.empty() || !valid_utf8(k) || !valid_utf8(v)) return "bad tag";
    if (i > 0 && !(p.tags[i - 1].first < k)) return "tags not strictly sorted";
  }
  if (p.fields.empty()) return "no fields";
  for (size_t i = 0; i < p.fields.size(); ++i) {
    const auto& [k, v] = p.fields[i];
    if (k.empty() || !valid_utf8(k)) return "bad field key";
    for (size_t j = 0; j < i; ++j) {
      if (p.fields[j].first == k) return "duplicate field key";
    }
    if (const double* d = std::get_if<double>(&v); d && !std::isfinite(*d)) return "non-finite";
    if (const auto* s = std::get_if<std::string>(&v); s && !valid_utf8(*s)) return "bad string";
  }
  return "";
}

// Random short strings over an alphabet that stresses escaping and UTF-8.
class RandomNames {
 public:
  explicit RandomNames(uint32_t seed) : rng_(seed) {}

  std::mt19937_64& rng() { return rng_; }

  size_t below(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }

  // Non-empty, valid UTF-8, never containing '\n'.
  std::string name(size_t max_len = 6) {
    static const std::vector<std::string> kAtoms = {
        "a", "b", "z", "_", ",", "=", " ", "\\", "\"", "#",  "\t",   "\r",
        "0", "1", ".", "-", "i", "u", "t", "f",  "é",  "温", "🙂", std::string(1, '\0')};
    std::string s;
    const size_t len = 1 + below(max_len);
    for (size_t i = 0; i < len; ++i) s += kAtoms[below(kAtoms.size())];
    return s;
  }

  FieldValue value() {
    switch (below(5)) {
      case 0: {
        static const double kSpecial[] = {0.0,
                                          -0.0,
                                          1.0,
                                          -1.5,
                                          0.1,
                                          1e300,
                                          -1e-300,
                                          5e-324,
                                          1.7976931348623157e308,
                                          -2.2250738585072014e-308,
                                          123456789.0};
        if (below(2) == 0) return kSpecial[below(std::size(kSpecial))];
        const double d = std::bit_cast<double>(static_cast<uint64_t>(rng_()));
        return std::isfinite(d) ? d : 42.0;
      }
      case 1: {
        static const int64_t kSpecial[] = {0, -1, 1, INT64_MIN, INT64_MAX};
        if (below(2) == 0) return kSpecial[below(std::size(kSpecial))];
        return static_cast<int64_t>(rng_());
      }
      case 2:
        return below(2) == 0 ? uint64_t{UINT64_MAX} : static_cast<uint64_t>(rng_());
      case 3:
        return below(2) == 0;
      default: {
        std::string s = below(4) == 0 ? std::string() : name(8);
        return s;
      }
    }
  }

  // A point satisfying the Point invariants (names may need escaping).
  Point point() {
    Point p;
    do {
      p.measurement = name();
    } while (p.measurement[0] == '#' || p.measurement[0] == '\t');
    const size_t ntags = below(4);
    for (size_t i = 0; i < ntags; ++i) p.tags.emplace_back(name(), name());
    std::sort(p.tags.begin(), p.tags.end());
    p.tags.erase(std::unique(p.tags.begin(), p.tags.end(),
                             [](const Tag& a, const Tag& b) { return a.first == b.first; }),
                 p.tags.end());
    const size_t nfields = 1 + below(4);
    for (size_t i = 0; i < nfields; ++i) {
      std::string k = name();
      bool dup = false;
      for (const auto& f : p.fields) dup = dup || f.first == k;
      if (!dup) p.fields.emplace_back(std::move(k), value());
    }
    p.has_ts = below(4) != 0;
    // Keep ts*1000 within int64 so nanosecond output is representable.
    p.ts_us = p.has_ts ? static_cast<int64_t>(rng_() % 18'000'000'000'000'000ULL) -
                             9'000'000'000'000'000LL
                       : 777;
    return p;
  }

 private:
  std::mt19937_64 rng_;
};

}  // namespace flowdb::ingest::testing

#include "ingest/lp_number.h"

#include <charconv>
#include <cmath>

namespace flowdb::ingest {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != b[i]) return false;
  }
  return true;
}

bool is_nan_or_inf_word(std::string_view tok) {
  if (!tok.empty() && (tok[0] == '+' || tok[0] == '-')) tok.remove_prefix(1);
  return iequals(tok, "nan") || iequals(tok, "inf") || iequals(tok, "infinity");
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!is_digit(c)) return false;
  }
  return true;
}

template <class Int>
LpValueStatus parse_int(std::string_view s, Int* out) {
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  if (ec == std::errc::result_out_of_range) return LpValueStatus::out_of_range;
  if (ec != std::errc() || ptr != s.data() + s.size()) return LpValueStatus::invalid;
  return LpValueStatus::ok;
}

}  // namespace

LpValueStatus parse_lp_float(std::string_view tok, double* out) {
  const size_t n = tok.size();
  size_t i = 0;
  const bool neg = n > 0 && tok[0] == '-';
  if (neg) ++i;
  const size_t int_begin = i;
  while (i < n && is_digit(tok[i])) ++i;
  const size_t int_end = i;
  size_t frac_begin = i, frac_end = i;
  if (i < n && tok[i] == '.') {
    frac_begin = ++i;
    while (i < n && is_digit(tok[i])) ++i;
    frac_end = i;
  }
  if (int_end == int_begin && frac_end == frac_begin) return LpValueStatus::invalid;
  int64_t exp = 0;
  if (i < n && (tok[i] == 'e' || tok[i] == 'E')) {
    ++i;
    bool exp_neg = false;
    if (i < n && (tok[i] == '+' || tok[i] == '-')) exp_neg = tok[i++] == '-';
    if (i == n || !is_digit(tok[i])) return LpValueStatus::invalid;
    for (; i < n && is_digit(tok[i]); ++i) {
      if (exp < 1'000'000'000) exp = exp * 10 + (tok[i] - '0');  // Saturate.
    }
    if (exp_neg) exp = -exp;
  }
  if (i != n) return LpValueStatus::invalid;

  double d = 0;
  const auto [ptr, ec] = std::from_chars(tok.data(), tok.data() + n, d);
  if (ec == std::errc() && ptr == tok.data() + n) {
    if (!std::isfinite(d)) return LpValueStatus::out_of_range;
    *out = d;
    return LpValueStatus::ok;
  }
  if (ec != std::errc::result_out_of_range) return LpValueStatus::invalid;
  // from_chars reports overflow and underflow alike; tell them apart by the
  // decimal magnitude of the first significant digit.
  int64_t mag = 0;
  size_t k = int_begin;
  while (k < int_end && tok[k] == '0') ++k;
  if (k < int_end) {
    mag = static_cast<int64_t>(int_end - k) - 1;
  } else {
    k = frac_begin;
    while (k < frac_end && tok[k] == '0') ++k;
    mag = -static_cast<int64_t>(k - frac_begin) - 1;
  }
  if (mag + exp > 0) return LpValueStatus::out_of_range;
  *out = neg ? -0.0 : 0.0;
  return LpValueStatus::ok;
}

LpValueStatus classify_lp_value(std::string_view tok, FieldValue* out) {
  switch (tok[0]) {
    case 't':
    case 'T':
      if (tok == "t" || tok == "T" || tok == "true" || tok == "True" || tok == "TRUE") {
        out->emplace<bool>(true);
        return LpValueStatus::ok;
      }
      break;
    case 'f':
    case 'F':
      if (tok == "f" || tok == "F" || tok == "false" || tok == "False" || tok == "FALSE") {
        out->emplace<bool>(false);
        return LpValueStatus::ok;
      }
      break;
    default:
      break;
  }
  if (is_nan_or_inf_word(tok)) return LpValueStatus::nan_or_inf;
  const char last = tok.back();
  if (last == 'i') {
    const std::string_view body = tok.substr(0, tok.size() - 1);
    const std::string_view digits = (!body.empty() && body[0] == '-') ? body.substr(1) : body;
    if (!all_digits(digits)) return LpValueStatus::invalid;
    int64_t v = 0;
    const LpValueStatus st = parse_int(body, &v);
    if (st == LpValueStatus::ok) *out = v;
    return st;
  }
  if (last == 'u') {
    const std::string_view body = tok.substr(0, tok.size() - 1);
    if (!all_digits(body)) return LpValueStatus::invalid;
    uint64_t v = 0;
    const LpValueStatus st = parse_int(body, &v);
    if (st == LpValueStatus::ok) *out = v;
    return st;
  }
  double d = 0;
  const LpValueStatus st = parse_lp_float(tok, &d);
  if (st == LpValueStatus::ok) *out = d;
  return st;
}

LpValueStatus parse_lp_timestamp(std::string_view tok, int64_t* out) {
  const std::string_view digits = (!tok.empty() && tok[0] == '-') ? tok.substr(1) : tok;
  if (!all_digits(digits)) return LpValueStatus::invalid;
  return parse_int(tok, out);
}

bool scale_timestamp_to_us(int64_t v, Precision unit, int64_t* out_us) {
  switch (unit) {
    case Precision::ns:
      *out_us = floor_div(v, 1000);
      return true;
    case Precision::us:
      *out_us = v;
      return true;
    case Precision::ms:
      return !__builtin_mul_overflow(v, int64_t{1000}, out_us);
    case Precision::s:
      return !__builtin_mul_overflow(v, int64_t{1'000'000}, out_us);
  }
  return false;
}

}  // namespace flowdb::ingest

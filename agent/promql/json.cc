// to_json (eval.h): the `data` object of Prometheus's /api/v1/query and
// /api/v1/query_range responses, in Prometheus's number format.
#include <charconv>
#include <cmath>
#include <cstdio>
#include <string>
#include <variant>

#include "agent/promql/eval.h"
#include "eval_internal.h"

namespace flowdb::promql {
namespace {

// Go's encoding/json string form as Prometheus writes labels: quotes,
// backslashes and control characters escaped, and <, >, & as \u00XX (Go's
// HTML-safe default).
void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == '<' || c == '>' || c == '&') {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += ch;
        }
    }
  }
  out += '"';
}

// Prometheus's jsonutil.MarshalTimestamp for vector and matrix points:
// seconds, then "." and exactly three digits unless whole (1435781451.781,
// 1700000000.500, 1700000001).
void append_timestamp(std::string& out, int64_t ms) {
  if (ms < 0) {
    out += '-';
    ms = -ms;
  }
  out += std::to_string(ms / 1000);
  int64_t frac = ms % 1000;
  if (frac == 0) return;
  char buf[8];
  std::snprintf(buf, sizeof buf, ".%03d", static_cast<int>(frac));
  out += buf;
}

// Prometheus's jsonutil.MarshalValue: FormatFloat 'f' but 'e' below 1e-6
// and from 1e21 ("1e+21", "1e-07").
std::string point_value(double v) {
  double a = std::fabs(v);
  if (a == 0 || std::isnan(v) || std::isinf(v) || (a >= 1e-6 && a < 1e21)) {
    return detail::format_float(v);
  }
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  return std::string(buf, r.ptr);
}

void append_point(std::string& out, int64_t t, double v) {
  out += '[';
  append_timestamp(out, t);
  out += ",\"";
  out += point_value(v);
  out += "\"]";
}

// Scalar and String marshal through encoding/json: the time as a float64 of
// seconds (shortest form, 1700000000.5), a scalar's value with 'f'.
void append_json_seconds(std::string& out, int64_t ms) {
  out += detail::format_float(static_cast<double>(ms) / 1000);
}

void append_metric(std::string& out, const Labels& ls) {
  out += "{\"metric\":{";
  for (size_t i = 0; i < ls.size(); ++i) {
    if (i > 0) out += ',';
    append_json_string(out, ls[i].name);
    out += ':';
    append_json_string(out, ls[i].value);
  }
  out += '}';
}

std::string vector_json(const Vector& v) {
  std::string out = "{\"resultType\":\"vector\",\"result\":[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i > 0) out += ',';
    append_metric(out, v[i].labels);
    out += ",\"value\":";
    append_point(out, v[i].t, v[i].v);
    out += '}';
  }
  return out + "]}";
}

std::string matrix_json(const Matrix& m) {
  std::string out = "{\"resultType\":\"matrix\",\"result\":[";
  for (size_t i = 0; i < m.size(); ++i) {
    if (i > 0) out += ',';
    append_metric(out, m[i].labels);
    out += ",\"values\":[";
    for (size_t j = 0; j < m[i].samples.size(); ++j) {
      if (j > 0) out += ',';
      append_point(out, m[i].samples[j].t, m[i].samples[j].v);
    }
    out += "]}";
  }
  return out + "]}";
}

}  // namespace

std::string to_json(const Value& v) {
  if (const auto* s = std::get_if<Scalar>(&v)) {
    std::string out = "{\"resultType\":\"scalar\",\"result\":[";
    append_json_seconds(out, s->t);
    out += ",\"" + detail::format_float(s->v) + "\"]";
    return out + "}";
  }
  if (const auto* s = std::get_if<String>(&v)) {
    std::string out = "{\"resultType\":\"string\",\"result\":[";
    append_json_seconds(out, s->t);
    out += ',';
    append_json_string(out, s->v);
    return out + "]}";
  }
  if (const auto* vec = std::get_if<Vector>(&v)) return vector_json(*vec);
  return matrix_json(std::get<Matrix>(v));
}

}  // namespace flowdb::promql

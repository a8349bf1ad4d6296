// Line-protocol serializer (Point -> one line). The parser is in line_protocol.cc.
#include <charconv>
#include <cmath>

#include "ingest/line_protocol.h"  // Declares append_line_protocol.
#include "ingest/lp_number.h"
#include "ingest/utf8.h"

namespace flowdb::ingest {
namespace {

bool is_key_special(char c) { return c == ',' || c == '=' || c == ' '; }
bool is_measurement_special(char c) { return c == ',' || c == ' '; }

// Escapes `s` for a name context. A backslash is doubled only if the parser would
// otherwise combine it with the next byte (or the separator after the name).
template <class IsSpecial>
bool append_name(std::string* out, std::string_view s, IsSpecial special) {
  if (s.empty() || s.find('\n') != std::string_view::npos || !valid_utf8(s)) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (special(c)) {
      out->push_back('\\');
    } else if (c == '\\') {
      const bool last = i + 1 == s.size();
      if (last || special(s[i + 1]) || s[i + 1] == '\\') out->push_back('\\');
    }
    out->push_back(c);
  }
  return true;
}

bool append_string_value(std::string* out, std::string_view s) {
  if (s.find('\n') != std::string_view::npos || !valid_utf8(s)) return false;
  out->push_back('"');
  for (char c : s) {
    if (c == '"' || c == '\\') out->push_back('\\');
    out->push_back(c);
  }
  out->push_back('"');
  return true;
}

template <class T>
void append_number(std::string* out, T v) {
  char buf[32];
  const auto res = std::to_chars(buf, buf + sizeof buf, v);  // Shortest round-trip form.
  out->append(buf, res.ptr);
}

bool append_field_value(std::string* out, const FieldValue& v) {
  switch (v.index()) {
    case 0: {
      const double d = std::get<double>(v);
      if (!std::isfinite(d)) return false;
      append_number(out, d);
      return true;
    }
    case 1:
      append_number(out, std::get<int64_t>(v));
      out->push_back('i');
      return true;
    case 2:
      append_number(out, std::get<uint64_t>(v));
      out->push_back('u');
      return true;
    case 3:
      out->append(std::get<bool>(v) ? "true" : "false");
      return true;
    default:
      return append_string_value(out, std::get<std::string>(v));
  }
}

bool to_precision(int64_t ts_us, Precision precision, int64_t* out) {
  switch (precision) {
    case Precision::ns:
      return !__builtin_mul_overflow(ts_us, int64_t{1000}, out);
    case Precision::us:
      *out = ts_us;
      return true;
    case Precision::ms:
      *out = floor_div(ts_us, 1000);
      return true;
    case Precision::s:
      *out = floor_div(ts_us, 1'000'000);
      return true;
  }
  return false;
}

bool append_point(std::string* out, const Point& p, Precision precision) {
  if (p.fields.empty() || p.measurement.empty()) return false;
  const char first = p.measurement.front();
  if (first == '#' || first == '\t') return false;
  if (!append_name(out, p.measurement, is_measurement_special)) return false;
  for (const auto& [k, v] : p.tags) {
    out->push_back(',');
    if (!append_name(out, k, is_key_special)) return false;
    out->push_back('=');
    if (!append_name(out, v, is_key_special)) return false;
  }
  char sep = ' ';
  for (const auto& [k, v] : p.fields) {
    out->push_back(sep);
    sep = ',';
    if (!append_name(out, k, is_key_special)) return false;
    out->push_back('=');
    if (!append_field_value(out, v)) return false;
  }
  if (p.has_ts) {
    int64_t ts = 0;
    if (!to_precision(p.ts_us, precision, &ts)) return false;
    out->push_back(' ');
    append_number(out, ts);
  }
  out->push_back('\n');
  return true;
}

}  // namespace

bool append_line_protocol(std::string* out, const Point& p, Precision precision) {
  const size_t old_size = out->size();
  if (append_point(out, p, precision)) return true;
  out->resize(old_size);
  return false;
}

}  // namespace flowdb::ingest

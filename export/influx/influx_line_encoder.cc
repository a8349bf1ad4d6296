#include "export/influx/influx_line_encoder.h"

#include <array>
#include <charconv>
#include <cmath>
#include <limits>

#include "ingest/line_protocol.h"

namespace flowdb::export_influx {
namespace {

using exporter::Sample;

constexpr size_t kMaxFieldsPerLine = 64;

// Bytes that need no escaping or validation anywhere in a line: printable
// ASCII except the separators and escape characters. Names and string values
// made only of these are written as they are (the fast path); anything else
// goes through ingest::append_line_protocol, which escapes and validates.
constexpr std::array<bool, 256> kPlain = [] {
  std::array<bool, 256> t{};
  for (int c = 0x21; c < 0x7F; ++c) t[c] = true;
  for (char c : {',', '=', '\\', '"'}) t[static_cast<unsigned char>(c)] = false;
  return t;
}();

// As kPlain, plus what a quoted string value may hold unescaped (' ', ',', '=').
constexpr std::array<bool, 256> kPlainString = [] {
  std::array<bool, 256> t = kPlain;
  for (char c : {' ', ',', '='}) t[static_cast<unsigned char>(c)] = true;
  return t;
}();

bool all_of(std::string_view s, const std::array<bool, 256>& table) {
  bool ok = true;
  for (char c : s) ok &= table[static_cast<unsigned char>(c)];
  return ok;
}

bool plain_name(std::string_view s) { return !s.empty() && all_of(s, kPlain); }

int64_t clamp_to_int64(uint64_t u) {
  constexpr uint64_t kMax = std::numeric_limits<int64_t>::max();
  return static_cast<int64_t>(u > kMax ? kMax : u);
}

template <class T>
void append_number(std::string* out, T v) {
  char buf[32];
  const auto res = std::to_chars(buf, buf + sizeof buf, v);  // shortest round-trip form
  out->append(buf, res.ptr);
}

// Appends "name=value" if both need no escaping; false (nothing appended) if not.
bool append_plain_field(std::string* out, const std::string& name, const ingest::FieldValue& v,
                        bool uint_support) {
  if (!plain_name(name)) return false;
  switch (v.index()) {
    case 0: {
      const double d = std::get<double>(v);
      if (!std::isfinite(d)) return false;
      out->append(name).push_back('=');
      append_number(out, d);
      return true;
    }
    case 1:
      out->append(name).push_back('=');
      append_number(out, std::get<int64_t>(v));
      out->push_back('i');
      return true;
    case 2:
      out->append(name).push_back('=');
      if (uint_support) {
        append_number(out, std::get<uint64_t>(v));
        out->push_back('u');
      } else {
        append_number(out, clamp_to_int64(std::get<uint64_t>(v)));
        out->push_back('i');
      }
      return true;
    case 3:
      out->append(name).append(std::get<bool>(v) ? "=true" : "=false");
      return true;
    default: {
      const std::string& s = std::get<std::string>(v);
      if (!all_of(s, kPlainString)) return false;
      out->append(name).append("=\"").append(s).push_back('"');
      return true;
    }
  }
}

// Whether samples a and b belong on one line: same series and time.
bool same_point(const Sample& a, const Sample& b) {
  return a.ts_us == b.ts_us && a.series.measurement == b.series.measurement &&
         a.series.tags == b.series.tags;
}

// The end of the run of batch[begin]: consecutive samples of its series and
// time with distinct fields (at most kMaxFieldsPerLine).
size_t run_end(std::span<const Sample> batch, size_t begin) {
  size_t end = begin + 1;
  while (end < batch.size() && end - begin < kMaxFieldsPerLine &&
         same_point(batch[begin], batch[end])) {
    for (size_t k = begin; k < end; ++k) {
      if (batch[k].series.field == batch[end].series.field) return end;
    }
    ++end;
  }
  return end;
}

}  // namespace

uint64_t InfluxLineEncoder::encode(std::span<const Sample> batch, std::string* out) {
  uint64_t skipped = 0;
  for (size_t begin = 0; begin < batch.size();) {
    const size_t end = run_end(batch, begin);
    const auto run = batch.subspan(begin, end - begin);
    if (!append_plain_line(run, out)) skipped += append_escaped_line(run, out);
    begin = end;
  }
  return skipped;
}

bool InfluxLineEncoder::append_plain_line(std::span<const Sample> run, std::string* out) const {
  const size_t old_size = out->size();
  const ingest::SeriesKeyParts& series = run.front().series;
  bool ok = plain_name(series.measurement) && series.measurement.front() != '#';
  if (ok) out->append(series.measurement);
  for (size_t i = 0; ok && i < series.tags.size(); ++i) {
    const auto& [k, v] = series.tags[i];
    ok = plain_name(k) && plain_name(v);
    if (ok) out->append(1, ',').append(k).append(1, '=').append(v);
  }
  for (size_t i = 0; ok && i < run.size(); ++i) {
    out->push_back(i == 0 ? ' ' : ',');
    ok = append_plain_field(out, run[i].series.field, run[i].value, uint_support_);
  }
  if (!ok) {
    out->resize(old_size);
    return false;
  }
  out->push_back(' ');
  append_number(out, run.front().ts_us);
  out->push_back('\n');
  return true;
}

uint64_t InfluxLineEncoder::append_escaped_line(std::span<const Sample> run, std::string* out) {
  point_.measurement = run.front().series.measurement;
  point_.tags = run.front().series.tags;
  point_.ts_us = run.front().ts_us;
  point_.has_ts = true;
  point_.fields.resize(run.size());
  for (size_t i = 0; i < run.size(); ++i) {
    point_.fields[i].first = run[i].series.field;
    const uint64_t* u = std::get_if<uint64_t>(&run[i].value);
    if (u != nullptr && !uint_support_) {
      point_.fields[i].second = clamp_to_int64(*u);
    } else {
      point_.fields[i].second = run[i].value;
    }
  }
  if (ingest::append_line_protocol(out, point_, ingest::Precision::us)) return 0;
  // Something in the line is unrepresentable: write the fields one by one.
  uint64_t skipped = 0;
  std::vector<ingest::Field> fields = std::move(point_.fields);
  point_.fields.resize(1);
  for (ingest::Field& f : fields) {
    point_.fields[0] = std::move(f);
    if (!ingest::append_line_protocol(out, point_, ingest::Precision::us)) ++skipped;
  }
  return skipped;
}

}  // namespace flowdb::export_influx

// Line-protocol parser. The serializer is in line_protocol_writer.cc.
#include "ingest/line_protocol.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>

#include "ingest/lp_number.h"
#include "ingest/utf8.h"

namespace flowdb::ingest {
namespace {

using ByteSet = std::array<bool, 256>;

constexpr ByteSet make_set(std::string_view chars) {
  ByteSet s{};
  for (char c : chars) s[static_cast<unsigned char>(c)] = true;
  return s;
}

// Bytes that end or need attention inside an element, per context.
constexpr ByteSet kMeasurementSpecial = make_set(", \\");
constexpr ByteSet kMeasurementEscapable = make_set(", \\");
constexpr ByteSet kKeySpecial = make_set(",= \\");  // Tag keys/values, field keys.
constexpr ByteSet kKeyEscapable = make_set(",= \\");
constexpr ByteSet kNumberEnd = make_set(", ");

// One failed line: why and where (byte offset into the line).
struct Failure {
  ParseReason reason;
  const char* message;
  size_t pos;
};

// Parses one line (without its line break) into a reusable Point. Elements are
// unescaped straight into the Point's strings so their capacity is reused.
class LineParser {
 public:
  LineParser(std::string_view line, const LineProtocolOptions& opts, Point* point)
      : line_(line), n_(line.size()), opts_(opts), point_(point) {}

  // Returns false with failure() set.
  bool parse(size_t start, int64_t now_us);
  const Failure& failure() const { return failure_; }
  size_t tag_count() const { return ntags_; }
  size_t field_count() const { return nfields_; }

 private:
  bool fail(ParseReason r, const char* msg, size_t pos) {
    failure_ = {r, msg, pos};
    return false;
  }
  bool at_end() const { return pos_ >= n_; }
  char cur() const { return line_[pos_]; }

  // Reads an element up to an unescaped byte of `special` other than '\\' (or
  // the end of line), unescaping bytes of `escapable`.
  bool read_element(const ByteSet& special, const ByteSet& escapable, std::string* out);
  bool parse_tags();
  bool parse_fields();
  bool parse_field_value(FieldValue* value);
  bool parse_string_value(FieldValue* value);
  bool parse_timestamp(int64_t now_us);

  Tag& next_tag();
  Field& next_field();

  std::string_view line_;
  size_t n_;
  size_t pos_ = 0;
  const LineProtocolOptions& opts_;
  Point* point_;
  size_t ntags_ = 0;
  size_t nfields_ = 0;
  Failure failure_{ParseReason::syntax, "", 0};
};

bool LineParser::read_element(const ByteSet& special, const ByteSet& escapable, std::string* out) {
  out->clear();
  size_t run = pos_;  // Start of the pending run of literal bytes.
  while (pos_ < n_) {
    const auto c = static_cast<unsigned char>(line_[pos_]);
    if (!special[c]) {
      ++pos_;
      continue;
    }
    if (c != '\\') break;  // Unescaped separator.
    if (pos_ + 1 >= n_) return fail(ParseReason::bad_escape, "backslash at end of line", pos_);
    if (escapable[static_cast<unsigned char>(line_[pos_ + 1])]) {
      out->append(line_.data() + run, pos_ - run);
      out->push_back(line_[pos_ + 1]);
      pos_ += 2;
      run = pos_;
    } else {
      ++pos_;  // Literal backslash.
    }
  }
  out->append(line_.data() + run, pos_ - run);
  return true;
}

Tag& LineParser::next_tag() {
  auto& v = point_->tags;
  if (ntags_ == v.size()) v.emplace_back();
  return v[ntags_++];
}

Field& LineParser::next_field() {
  auto& v = point_->fields;
  if (nfields_ == v.size()) v.emplace_back();
  return v[nfields_++];
}

bool LineParser::parse(size_t start, int64_t now_us) {
  pos_ = start;
  if (!read_element(kMeasurementSpecial, kMeasurementEscapable, &point_->measurement)) {
    return false;
  }
  if (point_->measurement.empty()) return fail(ParseReason::syntax, "missing measurement", pos_);
  if (!at_end() && cur() == ',' && !parse_tags()) return false;
  while (!at_end() && cur() == ' ') ++pos_;
  if (at_end()) return fail(ParseReason::no_fields, "missing field set", pos_);
  if (!parse_fields()) return false;
  return parse_timestamp(now_us);
}

bool LineParser::parse_tags() {
  while (!at_end() && cur() == ',') {
    ++pos_;
    Tag& tag = next_tag();
    const size_t key_pos = pos_;
    if (!read_element(kKeySpecial, kKeyEscapable, &tag.first)) return false;
    if (at_end() || cur() != '=') return fail(ParseReason::syntax, "tag without '='", pos_);
    if (tag.first.empty()) return fail(ParseReason::syntax, "empty tag key", key_pos);
    ++pos_;
    const size_t value_pos = pos_;
    if (!read_element(kKeySpecial, kKeyEscapable, &tag.second)) return false;
    if (tag.second.empty()) return fail(ParseReason::syntax, "empty tag value", value_pos);
    if (!at_end() && cur() == '=') {
      return fail(ParseReason::syntax, "unescaped '=' in tag value", pos_);
    }
  }
  if (at_end()) return fail(ParseReason::no_fields, "missing field set", pos_);
  return true;
}

bool LineParser::parse_fields() {
  while (true) {
    Field& field = next_field();
    const size_t key_pos = pos_;
    if (!read_element(kKeySpecial, kKeyEscapable, &field.first)) return false;
    if (at_end() || cur() != '=') return fail(ParseReason::syntax, "field without '='", pos_);
    if (field.first.empty()) return fail(ParseReason::syntax, "empty field key", key_pos);
    ++pos_;
    if (!parse_field_value(&field.second)) return false;
    if (at_end() || cur() == ' ') return true;
    if (cur() != ',') return fail(ParseReason::syntax, "unexpected byte after field value", pos_);
    ++pos_;
  }
}

bool LineParser::parse_string_value(FieldValue* value) {
  std::string* s = std::get_if<std::string>(value);
  if (s == nullptr) s = &value->emplace<std::string>();
  s->clear();
  const size_t open = pos_;
  ++pos_;  // Opening quote.
  size_t run = pos_;
  // Each byte is scanned at most once for '"' and once for '\\', so escape-heavy
  // input stays linear.
  size_t quote = line_.find('"', pos_);
  while (true) {
    if (quote == std::string_view::npos) {
      return fail(ParseReason::syntax, "unterminated string field value", open);
    }
    const void* b = std::memchr(line_.data() + pos_, '\\', quote - pos_);
    if (b == nullptr) {
      s->append(line_.data() + run, quote - run);
      pos_ = quote + 1;
      break;
    }
    pos_ = static_cast<const char*>(b) - line_.data();
    const char next = line_[pos_ + 1];  // Exists: pos_ < quote.
    if (next == '"' || next == '\\') {
      s->append(line_.data() + run, pos_ - run);
      s->push_back(next);
      pos_ += 2;
      run = pos_;
      if (pos_ > quote) quote = line_.find('"', pos_);
    } else {
      ++pos_;  // Literal backslash.
    }
  }
  if (s->size() > opts_.max_string_bytes) {
    return fail(ParseReason::bad_field_value, "string field value too long", open);
  }
  return true;
}

bool LineParser::parse_field_value(FieldValue* value) {
  if (at_end()) return fail(ParseReason::bad_field_value, "missing field value", pos_);
  if (cur() == '"') return parse_string_value(value);
  const size_t start = pos_;
  while (pos_ < n_ && !kNumberEnd[static_cast<unsigned char>(line_[pos_])]) ++pos_;
  const std::string_view tok = line_.substr(start, pos_ - start);
  if (tok.empty()) return fail(ParseReason::bad_field_value, "missing field value", start);
  switch (classify_lp_value(tok, value)) {
    case LpValueStatus::ok:
      return true;
    case LpValueStatus::nan_or_inf:
      return fail(ParseReason::nan_or_inf, "NaN or Inf field value", start);
    case LpValueStatus::out_of_range:
      return fail(ParseReason::bad_field_value, "numeric field value out of range", start);
    case LpValueStatus::invalid:
      break;
  }
  return fail(ParseReason::bad_field_value, "invalid field value", start);
}

bool LineParser::parse_timestamp(int64_t now_us) {
  while (!at_end() && cur() == ' ') ++pos_;
  if (at_end()) {
    point_->ts_us = now_us;
    point_->has_ts = false;
    return true;
  }
  const size_t start = pos_;
  while (pos_ < n_ && line_[pos_] != ' ') ++pos_;
  const std::string_view tok = line_.substr(start, pos_ - start);
  while (!at_end() && cur() == ' ') ++pos_;
  if (!at_end()) return fail(ParseReason::syntax, "unexpected data after timestamp", pos_);
  int64_t raw = 0;
  switch (parse_lp_timestamp(tok, &raw)) {
    case LpValueStatus::ok:
      break;
    case LpValueStatus::out_of_range:
      return fail(ParseReason::timestamp_out_of_range, "timestamp out of int64 range", start);
    default:
      return fail(ParseReason::bad_timestamp, "invalid timestamp", start);
  }
  if (!scale_timestamp_to_us(raw, opts_.precision, &point_->ts_us)) {
    return fail(ParseReason::timestamp_out_of_range, "timestamp out of range", start);
  }
  point_->has_ts = true;
  return true;
}

bool has_reserved_name(const Point& p) {
  if (p.measurement.front() == '_') return true;
  for (const auto& t : p.tags) {
    if (t.first.front() == '_') return true;
  }
  for (const auto& f : p.fields) {
    if (f.first.front() == '_') return true;
  }
  return false;
}

}  // namespace

std::optional<Precision> parse_precision(std::string_view s) noexcept {
  if (s == "ns" || s == "n") return Precision::ns;
  if (s == "us" || s == "u") return Precision::us;
  if (s == "ms") return Precision::ms;
  if (s == "s") return Precision::s;
  return std::nullopt;
}

LineProtocolParser::LineProtocolParser(LineProtocolOptions options) : options_(options) {}

ParseStats LineProtocolParser::parse(std::string_view payload, int64_t now_us,
                                     FunctionRef<void(const Point&)> on_point,
                                     FunctionRef<void(const ParseError&)> on_error) {
  ParseStats stats;
  uint64_t line_no = 0;
  auto report = [&](ParseReason reason, const char* msg, size_t pos) {
    ++stats.errors;
    on_error(ParseError{line_no, reason, msg,
                        static_cast<uint32_t>(std::min<size_t>(pos, UINT32_MAX - 1) + 1)});
  };
  size_t pos = 0;
  while (pos < payload.size()) {
    const void* nl = std::memchr(payload.data() + pos, '\n', payload.size() - pos);
    const size_t eol = nl ? static_cast<const char*>(nl) - payload.data() : payload.size();
    std::string_view line = payload.substr(pos, eol - pos);
    pos = eol + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);

    size_t start = 0;
    while (start < line.size() && (line[start] == ' ' || line[start] == '\t')) ++start;
    if (start == line.size() || line[start] == '#') continue;  // Blank or comment.
    if (line.size() > options_.max_line_bytes) {
      report(ParseReason::line_too_long, "line too long", options_.max_line_bytes);
      continue;
    }
    if (size_t bad = find_invalid_utf8(line); bad != line.size()) {
      report(ParseReason::invalid_utf8, "invalid UTF-8", bad);
      continue;
    }

    LineParser lp(line, options_, &point_);
    const bool ok = lp.parse(start, now_us);
    // Trim the reused vectors to this line's element count; the kept elements keep their
    // string capacity, which makes the next line of the same shape allocation-free.
    point_.tags.resize(lp.tag_count());
    point_.fields.resize(lp.field_count());
    if (!ok) {
      report(lp.failure().reason, lp.failure().message, lp.failure().pos);
      continue;
    }
    if (!sort_tags(&point_.tags)) {
      report(ParseReason::duplicate_tag, "duplicate tag key", start);
      continue;
    }
    dedupe_fields(&point_.fields, &scratch_);
    if (options_.reject_reserved_names && has_reserved_name(point_)) {
      report(ParseReason::reserved_name, "name starts with '_'", start);
      continue;
    }
    ++stats.points;
    on_point(point_);
  }
  return stats;
}

LineProtocolResult parse_line_protocol(std::string_view payload, int64_t now_us,
                                       const LineProtocolOptions& options) {
  LineProtocolResult result;
  LineProtocolParser parser(options);
  parser.parse(
      payload, now_us, [&](const Point& p) { result.points.push_back(p); },
      [&](const ParseError& e) { result.errors.push_back(e); });
  return result;
}

}  // namespace flowdb::ingest

#include "ingest/json_format.h"

#include <algorithm>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <charconv>
#include <cmath>

#include "ingest/lp_number.h"
#include "ingest/rfc3339.h"
#include "ingest/utf8.h"

namespace flowdb::ingest {

namespace json = boost::json;

struct JsonParser::State {
  Point point;
  std::string path;  // Flattened name of the value being visited.
  std::vector<uint32_t> scratch;
  // First block of the per-call arena. Most payloads fit, so parsing the DOM
  // does not touch the heap.
  std::vector<unsigned char> arena = std::vector<unsigned char>(16 * 1024);
};

namespace {

constexpr unsigned kMaxDepth = 32;

bool contains(const std::vector<std::string>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

template <class T>
void append_number(std::string* out, T v) {
  char buf[32];
  const auto res = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, res.ptr);
}

Precision unit_of(JsonFormat::TsFormat f) {
  switch (f) {
    case JsonFormat::unix_ms:
      return Precision::ms;
    case JsonFormat::unix_us:
      return Precision::us;
    case JsonFormat::unix_ns:
      return Precision::ns;
    default:
      return Precision::s;
  }
}

// Maps one JSON object onto the reused Point. The first error wins.
class PointBuilder {
 public:
  PointBuilder(const JsonFormat& format, JsonParser::State* st, int64_t now_us)
      : f_(format), st_(*st), p_(st->point), now_us_(now_us) {}

  // Builds the point from `obj`. Returns false with error() set.
  bool build(const json::object& obj);
  const ParseError& error() const { return error_; }

 private:
  void visit(const json::value& v);
  void scalar(const json::value& v);
  void set_tag(std::string_view name, const json::value& v);
  void set_field(std::string_view name, const json::value& v);
  void set_timestamp(const json::value& v);
  bool ts_from_int(int64_t v);
  bool ts_from_double(double v);
  void fail(ParseReason reason, std::string message) {
    if (failed_) return;
    failed_ = true;
    error_.reason = reason;
    error_.message = std::move(message);
  }

  const JsonFormat& f_;
  JsonParser::State& st_;
  Point& p_;
  int64_t now_us_;
  bool failed_ = false;
  bool have_measurement_ = false;
  ParseError error_;
};

bool PointBuilder::build(const json::object& obj) {
  p_.measurement.clear();
  p_.tags.clear();
  p_.fields.clear();
  p_.ts_us = now_us_;
  p_.has_ts = false;
  st_.path.clear();
  for (const auto& kv : obj) {
    st_.path.assign(kv.key());
    visit(kv.value());
  }
  if (failed_) return false;
  if (!have_measurement_) {
    if (f_.measurement.empty()) {
      fail(ParseReason::missing_measurement, "no measurement field and no fixed measurement");
      return false;
    }
    p_.measurement = f_.measurement;
  }
  if (p_.fields.empty()) {
    fail(ParseReason::no_fields, "object has no usable field");
    return false;
  }
  dedupe_fields(&p_.fields, &st_.scratch);
  return true;
}

void PointBuilder::visit(const json::value& v) {
  if (failed_) return;
  std::string& path = st_.path;
  const size_t base = path.size();
  if (const json::object* obj = v.if_object()) {
    for (const auto& kv : *obj) {
      path.resize(base);
      path.push_back('_');
      path.append(kv.key());
      visit(kv.value());
    }
  } else if (const json::array* arr = v.if_array()) {
    for (size_t i = 0; i < arr->size(); ++i) {
      path.resize(base);
      path.push_back('_');
      append_number(&path, i);
      visit((*arr)[i]);
    }
  } else {
    scalar(v);
  }
  path.resize(base);
}

void PointBuilder::scalar(const json::value& v) {
  const std::string_view name = st_.path;
  if (!f_.measurement_field.empty() && name == f_.measurement_field) {
    const json::string* s = v.if_string();
    if (s == nullptr || s->empty()) {
      fail(ParseReason::wrong_type,
           "measurement field '" + std::string(name) + "' is not a non-empty string");
      return;
    }
    p_.measurement.assign(s->data(), s->size());
    have_measurement_ = true;
  } else if (!f_.timestamp_field.empty() && name == f_.timestamp_field) {
    set_timestamp(v);
  } else if (contains(f_.tag_keys, name)) {
    set_tag(name, v);
  } else if (!name.empty() && (f_.field_keys.empty() || contains(f_.field_keys, name))) {
    set_field(name, v);
  }
}

void PointBuilder::set_tag(std::string_view name, const json::value& v) {
  std::string value;
  switch (v.kind()) {
    case json::kind::null:
      return;
    case json::kind::bool_:
      value = v.get_bool() ? "true" : "false";
      break;
    case json::kind::int64:
      append_number(&value, v.get_int64());
      break;
    case json::kind::uint64:
      append_number(&value, v.get_uint64());
      break;
    case json::kind::double_:
      if (!std::isfinite(v.get_double())) {
        fail(ParseReason::nan_or_inf, "tag '" + std::string(name) + "' is not finite");
        return;
      }
      append_number(&value, v.get_double());
      break;
    case json::kind::string:
      value.assign(v.get_string().data(), v.get_string().size());
      break;
    default:
      return;  // Containers were flattened before reaching here.
  }
  if (!value.empty()) upsert_tag(&p_.tags, name, value);
}

void PointBuilder::set_field(std::string_view name, const json::value& v) {
  FieldValue value;
  switch (v.kind()) {
    case json::kind::bool_:
      value.emplace<bool>(v.get_bool());
      break;
    case json::kind::int64:
      if (f_.ints_as_int) {
        value.emplace<int64_t>(v.get_int64());
      } else {
        value.emplace<double>(static_cast<double>(v.get_int64()));
      }
      break;
    case json::kind::uint64:
      if (f_.ints_as_int) {
        value.emplace<uint64_t>(v.get_uint64());
      } else {
        value.emplace<double>(static_cast<double>(v.get_uint64()));
      }
      break;
    case json::kind::double_:
      // Boost.JSON turns out-of-range literals such as 1e999 into +-Inf.
      if (!std::isfinite(v.get_double())) {
        fail(ParseReason::nan_or_inf, "field '" + std::string(name) + "' is not finite");
        return;
      }
      value.emplace<double>(v.get_double());
      break;
    case json::kind::string:
      value.emplace<std::string>(v.get_string().data(), v.get_string().size());
      break;
    default:
      return;  // null
  }
  p_.fields.emplace_back(std::string(name), std::move(value));
}

bool PointBuilder::ts_from_int(int64_t v) {
  if (!scale_timestamp_to_us(v, unit_of(f_.ts_format), &p_.ts_us)) {
    fail(ParseReason::timestamp_out_of_range, "timestamp out of range");
    return false;
  }
  return true;
}

bool PointBuilder::ts_from_double(double v) {
  if (!std::isfinite(v)) {
    fail(ParseReason::bad_timestamp, "timestamp is not finite");
    return false;
  }
  static constexpr double kToUs[] = {1e6, 1e3, 1.0, 1e-3};  // s, ms, us, ns.
  const double us = std::round(v * kToUs[static_cast<int>(f_.ts_format)]);
  // 2^63 is exact in double; the int64 range is [-2^63, 2^63).
  if (!(us >= -9223372036854775808.0 && us < 9223372036854775808.0)) {
    fail(ParseReason::timestamp_out_of_range, "timestamp out of range");
    return false;
  }
  p_.ts_us = static_cast<int64_t>(us);
  return true;
}

void PointBuilder::set_timestamp(const json::value& v) {
  bool ok = false;
  if (f_.ts_format == JsonFormat::rfc3339) {
    const json::string* s = v.if_string();
    if (s == nullptr || !parse_rfc3339(std::string_view(s->data(), s->size()), &p_.ts_us)) {
      fail(ParseReason::bad_timestamp, "timestamp is not an RFC 3339 string");
      return;
    }
    ok = true;
  } else {
    switch (v.kind()) {
      case json::kind::int64:
        ok = ts_from_int(v.get_int64());
        break;
      case json::kind::uint64:  // Only values above INT64_MAX are uint64.
        fail(ParseReason::timestamp_out_of_range, "timestamp out of range");
        return;
      case json::kind::double_:
        ok = ts_from_double(v.get_double());
        break;
      case json::kind::string: {
        const std::string_view s(v.get_string().data(), v.get_string().size());
        int64_t i = 0;
        double d = 0;
        const LpValueStatus st = parse_lp_timestamp(s, &i);
        if (st == LpValueStatus::ok) {
          ok = ts_from_int(i);
        } else if (st == LpValueStatus::out_of_range) {
          fail(ParseReason::timestamp_out_of_range, "timestamp out of range");
          return;
        } else if (parse_lp_float(s, &d) == LpValueStatus::ok) {
          ok = ts_from_double(d);
        } else {
          fail(ParseReason::bad_timestamp, "timestamp string is not a number");
          return;
        }
        break;
      }
      default:
        fail(ParseReason::bad_timestamp, "timestamp has a non-numeric JSON type");
        return;
    }
  }
  if (ok) p_.has_ts = true;
}

}  // namespace

JsonParser::JsonParser(JsonFormat format)
    : format_(std::move(format)), state_(std::make_unique<State>()) {}
JsonParser::~JsonParser() = default;
JsonParser::JsonParser(JsonParser&&) noexcept = default;
JsonParser& JsonParser::operator=(JsonParser&&) noexcept = default;

ParseStats JsonParser::parse(std::string_view payload, int64_t now_us,
                             FunctionRef<void(const Point&)> on_point,
                             FunctionRef<void(const ParseError&)> on_error) {
  ParseStats stats;
  auto report = [&](ParseError e) {
    ++stats.errors;
    on_error(e);
  };
  // The DOM lives in the arena and must not outlive `mr`.
  json::monotonic_resource mr(state_->arena.data(), state_->arena.size());
  json::parse_options opts;
  opts.max_depth = kMaxDepth;
  const json::storage_ptr sp(&mr);
  json::value doc(sp);  // Same storage as the parse result: the assignment moves.
  boost::system::error_code ec;
  std::string what;
  try {
    doc = json::parse(json::string_view(payload.data(), payload.size()), ec, sp, opts);
    if (ec) what = ec.message();
  } catch (const std::exception& e) {  // E.g. length_error on absurd sizes.
    what = e.what();
  }
  if (!what.empty()) {
    const bool utf8_ok = valid_utf8(payload);
    report(ParseError{0, utf8_ok ? ParseReason::syntax : ParseReason::invalid_utf8,
                      "invalid JSON: " + what, 0});
    return stats;
  }

  auto one = [&](const json::value& v, uint64_t index) {
    const json::object* obj = v.if_object();
    if (obj == nullptr) {
      report(ParseError{index, ParseReason::wrong_type, "element is not a JSON object", 0});
      return;
    }
    PointBuilder b(format_, state_.get(), now_us);
    if (!b.build(*obj)) {
      ParseError e = b.error();
      e.line_no = index;
      report(std::move(e));
      return;
    }
    ++stats.points;
    on_point(state_->point);
  };
  if (const json::array* arr = doc.if_array()) {
    for (size_t i = 0; i < arr->size(); ++i) one((*arr)[i], i + 1);
  } else if (doc.is_object()) {
    one(doc, 1);
  } else {
    report(ParseError{0, ParseReason::wrong_type, "payload is not an object or array", 0});
  }
  return stats;
}

JsonResult parse_json(std::string_view payload, int64_t now_us, const JsonFormat& format) {
  JsonResult result;
  JsonParser parser(format);
  parser.parse(
      payload, now_us, [&](const Point& p) { result.points.push_back(p); },
      [&](const ParseError& e) { result.errors.push_back(e); });
  return result;
}

}  // namespace flowdb::ingest

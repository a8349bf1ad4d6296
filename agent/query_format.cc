#include "agent/query_format.h"

#include <charconv>

#include "agent/config_schema.h"
#include "ingest/line_protocol.h"
#include "ingest/rfc3339.h"
#include "ingest/series_key.h"
#include "ingest/value_codec.h"

namespace flowdb::agent {
namespace {

void append_value_json(std::string* out, const ingest::FieldValue& v) {
  char buf[64];
  if (const auto* d = std::get_if<double>(&v)) {
    auto r = std::to_chars(buf, buf + sizeof(buf), *d);
    out->append(buf, r.ptr);
  } else if (const auto* i = std::get_if<int64_t>(&v)) {
    out->append(std::to_string(*i));
  } else if (const auto* u = std::get_if<uint64_t>(&v)) {
    out->append(std::to_string(*u));
  } else if (const auto* b = std::get_if<bool>(&v)) {
    out->append(*b ? "true" : "false");
  } else {
    append_json_string(out, std::get<std::string>(v));
  }
}

void append_csv(std::string* out, std::string_view s) {
  if (s.find_first_of(",\"\n\r") == std::string_view::npos) {
    out->append(s);
    return;
  }
  out->push_back('"');
  for (char c : s) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t p = s.find(sep, start);
    out.push_back(s.substr(start, p == std::string_view::npos ? p : p - start));
    if (p == std::string_view::npos) break;
    start = p + 1;
  }
  return out;
}

}  // namespace

void append_json_string(std::string* out, std::string_view s) {
  out->push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out->append(buf);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
  out->push_back('"');
}

std::string json_error(std::string_view message) {
  std::string out = "{\"error\":";
  append_json_string(&out, message);
  out += "}\n";
  return out;
}

bool parse_time_param(std::string_view s, int64_t now_us, int64_t* out) {
  if (s == "now") {
    *out = now_us;
    return true;
  }
  if (!s.empty() && s[0] == '-' && s.size() > 1 &&
      !(s[1] >= '0' && s[1] <= '9' && s.back() >= '0' && s.back() <= '9')) {
    int64_t d;
    if (!parse_duration_us(s.substr(1), &d)) return false;
    *out = now_us - d;
    return true;
  }
  if (ingest::parse_rfc3339(s, out)) return true;
  // Integer with optional unit.
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

QueryRequest parse_query_request(
    const std::function<std::optional<std::string>(std::string_view)>& get, int64_t now_us,
    size_t max_limit) {
  QueryRequest q;
  if (auto s = get("series"); s && !s->empty()) {
    auto parts = split(*s, ',');
    q.measurement = std::string(parts[0]);
    if (q.measurement.empty())
      throw QueryError(400, "series: empty measurement; expected MEASUREMENT[,TAG=VALUE...]");
    for (size_t i = 1; i < parts.size(); ++i) {
      size_t eq = parts[i].find('=');
      if (eq == std::string_view::npos || eq == 0) {
        throw QueryError(400,
                         "series: bad tag '" + std::string(parts[i]) + "'; expected TAG=VALUE");
      }
      q.tags.emplace_back(std::string(parts[i].substr(0, eq)),
                          std::string(parts[i].substr(eq + 1)));
    }
  }
  if (auto f = get("field")) q.field = *f;
  if (auto s = get("start"); s && !parse_time_param(*s, now_us, &q.start_us)) {
    throw QueryError(400, "start: bad time '" + *s +
                              "'; expected RFC 3339, now, -15m or an integer with unit s/ms/us/ns");
  }
  if (auto s = get("end"); s && !parse_time_param(*s, now_us, &q.end_us)) {
    throw QueryError(400, "end: bad time '" + *s +
                              "'; expected RFC 3339, now, -15m or an integer with unit s/ms/us/ns");
  }
  if (q.start_us > q.end_us) throw QueryError(400, "start is after end");
  if (auto f = get("format")) {
    if (*f == "json") {
      q.format = QueryRequest::Format::kJson;
    } else if (*f == "lp") {
      q.format = QueryRequest::Format::kLp;
    } else if (*f == "csv") {
      q.format = QueryRequest::Format::kCsv;
    } else {
      throw QueryError(400, "format: unknown '" + *f + "'; expected json, lp or csv");
    }
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

QueryResult run_query(Engine& engine, const QueryRequest& req) {
  QueryResult res;
  std::string prefix = req.measurement.empty() ? "" : ingest::measurement_prefix(req.measurement);
  ScanRange range = ScanRange::prefix_time_range(prefix, req.start_us, req.end_us);
  ingest::SeriesKeyParts parts;
  ingest::FieldValue value;
  std::string& out = res.body;
  switch (req.format) {
    case QueryRequest::Format::kJson:
      res.content_type = "application/json";
      out = "{\"points\":[";
      break;
    case QueryRequest::Format::kLp:
      res.content_type = "text/plain; charset=utf-8";
      break;
    case QueryRequest::Format::kCsv:
      res.content_type = "text/csv; charset=utf-8";
      out = "time,ts_us,measurement,tags,field,value\n";
      break;
  }
  std::string time;
  for (const Record& r : engine.scan(range)) {
    if (!ingest::decode_series_key(r.key, &parts) || !ingest::decode_value(r.value, &value)) {
      continue;  // not an agent record
    }
    if (!req.field.empty() && parts.field != req.field) continue;
    bool tags_ok = true;
    for (const auto& [k, v] : req.tags) {
      bool found = false;
      for (const auto& [pk, pv] : parts.tags) found |= (pk == k && pv == v);
      if (!found) {
        tags_ok = false;
        break;
      }
    }
    if (!tags_ok) continue;
    if (res.count == req.limit) {
      res.truncated = true;
      break;
    }
    ++res.count;
    time.clear();
    if (!ingest::append_rfc3339(&time, r.ts)) time = std::to_string(r.ts);
    switch (req.format) {
      case QueryRequest::Format::kJson: {
        if (res.count > 1) out.push_back(',');
        out += "{\"measurement\":";
        append_json_string(&out, parts.measurement);
        out += ",\"tags\":{";
        for (size_t i = 0; i < parts.tags.size(); ++i) {
          if (i) out.push_back(',');
          append_json_string(&out, parts.tags[i].first);
          out.push_back(':');
          append_json_string(&out, parts.tags[i].second);
        }
        out += "},\"field\":";
        append_json_string(&out, parts.field);
        out += ",\"time\":";
        append_json_string(&out, time);
        out += ",\"ts_us\":" + std::to_string(r.ts) + ",\"value\":";
        append_value_json(&out, value);
        out.push_back('}');
        break;
      }
      case QueryRequest::Format::kLp: {
        ingest::Point p;
        p.measurement = parts.measurement;
        p.tags = parts.tags;
        p.fields.emplace_back(parts.field, value);
        p.ts_us = r.ts;
        p.has_ts = true;
        (void)ingest::append_line_protocol(&out, p, ingest::Precision::ns);
        break;
      }
      case QueryRequest::Format::kCsv: {
        out += time + "," + std::to_string(r.ts) + ",";
        append_csv(&out, parts.measurement);
        out.push_back(',');
        std::string tags;
        for (size_t i = 0; i < parts.tags.size(); ++i) {
          if (i) tags.push_back(';');
          tags += parts.tags[i].first + "=" + parts.tags[i].second;
        }
        append_csv(&out, tags);
        out.push_back(',');
        append_csv(&out, parts.field);
        out.push_back(',');
        if (const auto* s = std::get_if<std::string>(&value)) {
          append_csv(&out, *s);
        } else {
          append_value_json(&out, value);
        }
        out.push_back('\n');
        break;
      }
    }
  }
  if (req.format == QueryRequest::Format::kJson) {
    out += "],\"count\":" + std::to_string(res.count) +
           ",\"truncated\":" + (res.truncated ? "true" : "false") + "}\n";
  }
  return res;
}

}  // namespace flowdb::agent

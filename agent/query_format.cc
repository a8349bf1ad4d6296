#include "agent/query_format.h"

#include <charconv>

#include "agent/core/config_schema.h"
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

void append_json_tags(std::string* out, const std::vector<ingest::Tag>& tags) {
  out->push_back('{');
  for (size_t i = 0; i < tags.size(); ++i) {
    if (i) out->push_back(',');
    append_json_string(out, tags[i].first);
    out->push_back(':');
    append_json_string(out, tags[i].second);
  }
  out->push_back('}');
}

std::string json_error(std::string_view message) {
  std::string out = "{\"error\":";
  append_json_string(&out, message);
  out += "}\n";
  return out;
}

std::string_view content_type(QueryRequest::Format f) {
  switch (f) {
    case QueryRequest::Format::kJson:
      return "application/json";
    case QueryRequest::Format::kLp:
      return "text/plain; charset=utf-8";
    case QueryRequest::Format::kCsv:
      break;
  }
  return "text/csv; charset=utf-8";
}

std::string_view result_header(QueryRequest::Format f) {
  switch (f) {
    case QueryRequest::Format::kJson:
      return "{\"points\":[";
    case QueryRequest::Format::kLp:
      return "";
    case QueryRequest::Format::kCsv:
      break;
  }
  return "time,ts_us,measurement,tags,field,value\n";
}

std::string result_footer(QueryRequest::Format f, const QueryStats& s) {
  if (f != QueryRequest::Format::kJson) return "";
  return "],\"count\":" + std::to_string(s.count) +
         ",\"truncated\":" + (s.truncated ? "true" : "false") + "}\n";
}

namespace {

void append_json_record(std::string* out, const Record& r, const ingest::SeriesKeyParts& parts,
                        const ingest::FieldValue& value, const std::string& time) {
  *out += "{\"measurement\":";
  append_json_string(out, parts.measurement);
  *out += ",\"tags\":";
  append_json_tags(out, parts.tags);
  *out += ",\"field\":";
  append_json_string(out, parts.field);
  *out += ",\"time\":";
  append_json_string(out, time);
  *out += ",\"ts_us\":" + std::to_string(r.ts) + ",\"value\":";
  append_value_json(out, value);
  out->push_back('}');
}

void append_csv_record(std::string* out, const Record& r, const ingest::SeriesKeyParts& parts,
                       const ingest::FieldValue& value, const std::string& time) {
  *out += time + "," + std::to_string(r.ts) + ",";
  append_csv(out, parts.measurement);
  out->push_back(',');
  std::string tags;
  for (size_t i = 0; i < parts.tags.size(); ++i) {
    if (i) tags.push_back(';');
    tags += parts.tags[i].first + "=" + parts.tags[i].second;
  }
  append_csv(out, tags);
  out->push_back(',');
  append_csv(out, parts.field);
  out->push_back(',');
  if (const auto* s = std::get_if<std::string>(&value)) {
    append_csv(out, *s);
  } else {
    append_value_json(out, value);
  }
  out->push_back('\n');
}

}  // namespace

void append_record(std::string* out, QueryRequest::Format f, const Record& r,
                   const ingest::SeriesKeyParts& parts, const ingest::FieldValue& value,
                   bool first) {
  if (f == QueryRequest::Format::kLp) {
    ingest::Point p;
    p.measurement = parts.measurement;
    p.tags = parts.tags;
    p.fields.emplace_back(parts.field, value);
    p.ts_us = r.ts;
    p.has_ts = true;
    (void)ingest::append_line_protocol(out, p, ingest::Precision::ns);
    return;
  }
  std::string time;
  if (!ingest::append_rfc3339(&time, r.ts)) time = std::to_string(r.ts);
  if (f == QueryRequest::Format::kJson) {
    if (!first) out->push_back(',');
    append_json_record(out, r, parts, value, time);
  } else {
    append_csv_record(out, r, parts, value, time);
  }
}

}  // namespace flowdb::agent

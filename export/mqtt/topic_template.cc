#include "export/mqtt/topic_template.h"

#include "ingest/topic_parsing.h"
#include "ingest/utf8.h"

namespace flowdb::export_mqtt {
namespace {

// Appends a placeholder value so that it stays inside one topic level.
void append_value(std::string* out, std::string_view v) {
  if (v.empty()) {
    out->push_back('_');
    return;
  }
  for (char c : v) {
    out->push_back(c == '/' || c == '+' || c == '#' || c == '\0' ? '_' : c);
  }
}

}  // namespace

TopicTemplate::TopicTemplate()
    : text_(kDefaultTopic), parts_{{Kind::kLiteral, "flowdb/"}, {Kind::kMeasurement, ""}} {}

std::optional<TopicTemplate> TopicTemplate::parse(std::string_view text, std::string* error) {
  auto bad = [&](std::string problem) {
    *error = std::move(problem);
    return std::nullopt;
  };
  if (text.empty()) return bad("empty topic template");
  if (!ingest::valid_utf8(text)) return bad("topic template is not valid UTF-8");
  if (text.size() > 65535) return bad("topic template is longer than 65535 bytes");
  if (text.front() == '$') return bad("topics starting with '$' are reserved for the broker");
  TopicTemplate t;
  t.text_ = std::string(text);
  t.parts_.clear();
  // Bytes of the current level so far (literal or placeholder).
  size_t level_size = 0;
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '+' || c == '#') {
      return bad(std::string("wildcard '") + c + "' in a topic template (position " +
                 std::to_string(i) + ")");
    }
    if (c == '\0') return bad("NUL byte in a topic template");
    if (c == '}') return bad("'}' without '{' at position " + std::to_string(i));
    if (c == '/') {
      if (level_size == 0) return bad("empty topic level at position " + std::to_string(i));
      level_size = 0;
    }
    if (c == '{') {
      const size_t close = text.find('}', i + 1);
      if (close == std::string_view::npos) {
        return bad("'{' at position " + std::to_string(i) + " is not closed by '}'");
      }
      const std::string_view name = text.substr(i + 1, close - i - 1);
      if (name == "measurement") {
        t.parts_.push_back({Kind::kMeasurement, ""});
      } else if (name == "field") {
        t.parts_.push_back({Kind::kField, ""});
      } else if (name.starts_with("tag:") && name.size() > 4 &&
                 name.find('{') == std::string_view::npos) {
        t.parts_.push_back({Kind::kTag, std::string(name.substr(4))});
      } else {
        return bad("unknown placeholder {" + std::string(name) +
                   "}; expected {measurement}, {field} or {tag:NAME}");
      }
      ++level_size;  // renders as at least one byte ("_" if empty)
      i = close + 1;
      continue;
    }
    if (t.parts_.empty() || t.parts_.back().kind != Kind::kLiteral) {
      t.parts_.push_back({Kind::kLiteral, ""});
    }
    t.parts_.back().text.push_back(c);
    if (c != '/') ++level_size;
    ++i;
  }
  if (level_size == 0) return bad("empty last topic level (trailing '/')");
  return t;
}

bool TopicTemplate::render(const ingest::SeriesKeyParts& series, std::string* out) const {
  out->clear();
  for (const Part& p : parts_) {
    switch (p.kind) {
      case Kind::kLiteral:
        out->append(p.text);
        break;
      case Kind::kMeasurement:
        append_value(out, series.measurement);
        break;
      case Kind::kField:
        append_value(out, series.field);
        break;
      case Kind::kTag: {
        std::string_view v;
        for (const auto& [k, val] : series.tags) {
          if (k == p.text) {
            v = val;
            break;
          }
        }
        append_value(out, v);
        break;
      }
    }
  }
  return ingest::valid_topic_name(*out);
}

}  // namespace flowdb::export_mqtt

#include "ingest/topic_parsing.h"

#include <algorithm>

#include "ingest/utf8.h"

namespace flowdb::ingest {
namespace {

constexpr size_t kMaxTopicBytes = 65535;

bool valid_common(std::string_view s) {
  return !s.empty() && s.size() <= kMaxTopicBytes && s.find('\0') == std::string_view::npos &&
         valid_utf8(s);
}

// Splits on '/' without allocating: calls fn(index, level) for every level.
template <class Fn>
void for_each_level(std::string_view s, Fn fn) {
  size_t index = 0;
  size_t pos = 0;
  while (true) {
    const size_t end = std::min(s.find('/', pos), s.size());
    fn(index++, s.substr(pos, end - pos));
    if (end == s.size()) break;
    pos = end + 1;
  }
}

size_t level_count(std::string_view s) { return std::count(s.begin(), s.end(), '/') + 1; }

bool is_skip(std::string_view level) { return level.empty() || level == "_"; }

}  // namespace

bool valid_topic_name(std::string_view topic) noexcept {
  return valid_common(topic) && topic.find_first_of("+#") == std::string_view::npos;
}

bool valid_topic_filter(std::string_view filter) noexcept {
  if (!valid_common(filter)) return false;
  bool ok = true;
  const size_t n = level_count(filter);
  for_each_level(filter, [&](size_t i, std::string_view level) {
    if (level.find('#') != std::string_view::npos && (level != "#" || i + 1 != n)) ok = false;
    if (level.find('+') != std::string_view::npos && level != "+") ok = false;
  });
  return ok;
}

bool topic_matches(std::string_view filter, std::string_view topic) noexcept {
  if (!valid_topic_filter(filter) || !valid_topic_name(topic)) return false;
  if (topic.front() == '$' && (filter.front() == '+' || filter.front() == '#')) return false;
  size_t fp = 0;
  size_t tp = 0;
  bool topic_done = false;
  while (true) {
    const size_t fe = std::min(filter.find('/', fp), filter.size());
    const std::string_view fl = filter.substr(fp, fe - fp);
    if (fl == "#") return true;  // Also matches the parent: "a/#" matches "a".
    if (topic_done) return false;
    const size_t te = std::min(topic.find('/', tp), topic.size());
    if (fl != "+" && fl != topic.substr(tp, te - tp)) return false;
    const bool filter_last = fe == filter.size();
    topic_done = te == topic.size();
    if (filter_last) return topic_done;
    fp = fe + 1;
    tp = te + 1;
  }
}

std::optional<TopicParser> TopicParser::create(std::vector<TopicParsingRule> rules,
                                               std::string* error) {
  TopicParser parser;
  for (size_t r = 0; r < rules.size(); ++r) {
    TopicParsingRule& in = rules[r];
    auto bad = [&](const std::string& why) {
      *error = "topic_parsing rule " + std::to_string(r + 1) + " (" + in.topic + "): " + why;
      return std::nullopt;
    };
    if (!valid_topic_filter(in.topic)) return bad("invalid topic filter");
    const size_t filter_levels = level_count(in.topic);
    const bool open_ended = in.topic.ends_with("#");
    auto check_levels = [&](const std::string& tmpl) {
      return tmpl.empty() || open_ended || level_count(tmpl) == filter_levels;
    };
    Rule rule;
    if (!check_levels(in.measurement)) return bad("measurement template level count");
    if (!check_levels(in.tags)) return bad("tags template level count");
    if (!in.measurement.empty()) {
      bool ok = true;
      for_each_level(in.measurement, [&](size_t i, std::string_view level) {
        if (is_skip(level)) return;
        if (level != "measurement" || rule.measurement_level >= 0) ok = false;
        rule.measurement_level = static_cast<int>(i);
      });
      if (!ok || rule.measurement_level < 0) {
        return bad("measurement template needs exactly one 'measurement' level");
      }
    }
    if (!in.tags.empty()) {
      bool ok = true;
      for_each_level(in.tags, [&](size_t i, std::string_view level) {
        if (is_skip(level)) return;
        if (!valid_utf8(level)) ok = false;
        for (const auto& t : rule.tags) {
          if (t.second == level) ok = false;
        }
        rule.tags.emplace_back(i, std::string(level));
      });
      if (!ok) return bad("tags template has a duplicate or invalid tag name");
    }
    rule.filter = std::move(in.topic);
    parser.rules_.push_back(std::move(rule));
  }
  return parser;
}

bool TopicParser::apply(std::string_view topic, Point* p) const {
  for (const Rule& rule : rules_) {
    if (!topic_matches(rule.filter, topic)) continue;
    // Rules are few and short: a linear scan per template entry is cheapest.
    for_each_level(topic, [&](size_t i, std::string_view level) {
      if (level.empty()) return;
      if (static_cast<int>(i) == rule.measurement_level) p->measurement.assign(level);
      for (const auto& [index, key] : rule.tags) {
        if (index == i) upsert_tag(&p->tags, key, level);
      }
    });
    return true;
  }
  return false;
}

}  // namespace flowdb::ingest

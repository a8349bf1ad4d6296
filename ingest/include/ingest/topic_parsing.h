// MQTT topic filters (wildcard matching) and Telegraf-style topic_parsing rules.
//
// Matching follows MQTT 3.1.1 / 5.0 section 4.7. Levels are separated by '/' and
// may be empty ("a//b", "/a"). '+' matches exactly one level (possibly empty).
// '#' must be the last level and matches the parent level and any number of
// child levels ("a/#" matches "a", "a/b", "a/b/c"). Topics starting with '$'
// are not matched by filters starting with '+' or '#'.
//
// A rule maps levels of matching topics onto the point:
//   {topic: "sensors/+/+/#", measurement: "_/measurement/_", tags: "_/_/site"}
// turns topic "sensors/temp/plant1/x" into measurement "temp" and tag
// site=plant1. Template levels are '/'-separated. "_" (or an empty level) skips
// a topic level, and a name takes the topic level at the same index. The
// measurement template has exactly one non-skip level, spelled "measurement".
// Without '#' in the filter, templates must have as many levels as the filter.
// With a trailing '#', they may have any number of levels, and levels missing
// from the actual topic are ignored. Empty topic levels set nothing. Topic-derived
// tags overwrite payload tags with the same key, and the measurement overwrites
// the payload's. The first matching rule wins.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ingest/point.h"

namespace flowdb::ingest {

// A topic name (what is published to): non-empty, at most 65535 bytes, valid
// UTF-8, no NUL, no wildcards.
bool valid_topic_name(std::string_view topic) noexcept;

// A topic filter (what is subscribed to): like a name, but '+' may fill a whole
// level and '#' may be the whole last level.
bool valid_topic_filter(std::string_view filter) noexcept;

// True if `topic` matches `filter`. False if either is invalid.
bool topic_matches(std::string_view filter, std::string_view topic) noexcept;

struct TopicParsingRule {
  std::string topic;        // MQTT topic filter.
  std::string measurement;  // Template; empty: keep the payload's measurement.
  std::string tags;         // Template; empty: no tags from the topic.
};

// A validated, immutable list of rules.
// Thread-safety: const methods are safe to call concurrently.
class TopicParser {
 public:
  TopicParser() = default;

  // Validates `rules`. On error returns nullopt and describes the first bad
  // rule in *error.
  static std::optional<TopicParser> create(std::vector<TopicParsingRule> rules, std::string* error);

  // Applies the first rule matching `topic` to *p. Returns false (and leaves
  // *p unchanged) if no rule matches or `topic` is not a valid topic name.
  bool apply(std::string_view topic, Point* p) const;

 private:
  struct Rule {
    std::string filter;
    int measurement_level = -1;                        // -1: none.
    std::vector<std::pair<size_t, std::string>> tags;  // (level index, tag key).
  };
  std::vector<Rule> rules_;
};

}  // namespace flowdb::ingest

// TopicTemplate: the `topic` of an mqtt export, rendered once per sample.
//
//   flowdb/{measurement}                 (the default)
//   site/{tag:site}/{measurement}/{field}
//
// Placeholders: {measurement}, {field} and {tag:NAME} (the value of tag NAME
// of the sample's series). In a placeholder's value every '/', '+', '#' and
// NUL byte becomes '_', so a value never adds a topic level or a wildcard; an
// empty value, or a tag the series does not have, renders as "_".
//
// parse() accepts a template only if every rendered topic is a valid MQTT topic
// name without empty levels: non-empty valid UTF-8; no '+', '#' or NUL; not
// starting with '$' (reserved for broker topics such as $SYS); no empty level
// (no leading, trailing or doubled '/'); every '{' starts a known placeholder
// that is closed by '}' (a tag NAME is non-empty and has no '{'), and no stray
// '}'. Only a rendered topic longer than 65535 bytes can still be invalid;
// render() reports that.
//
// Thread-safety: immutable after parse(); const methods may run concurrently.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/series_key.h"

namespace flowdb::export_mqtt {

inline constexpr std::string_view kDefaultTopic = "flowdb/{measurement}";

class TopicTemplate {
 public:
  // The default template, kDefaultTopic.
  TopicTemplate();

  // Validates `text`; on error returns nullopt and sets *error to the problem.
  static std::optional<TopicTemplate> parse(std::string_view text, std::string* error);

  // Replaces *out with the topic of `series`. Returns false if the result is not
  // a valid topic name (only possible when it exceeds 65535 bytes).
  bool render(const ingest::SeriesKeyParts& series, std::string* out) const;

  // The template as written.
  const std::string& text() const { return text_; }

 private:
  enum class Kind { kLiteral, kMeasurement, kField, kTag };
  struct Part {
    Kind kind;
    std::string text;  // kLiteral: the text; kTag: the tag name
  };

  std::string text_;
  std::vector<Part> parts_;
};

}  // namespace flowdb::export_mqtt

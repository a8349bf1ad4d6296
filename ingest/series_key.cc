#include "ingest/series_key.h"

#include <cstring>

namespace flowdb::ingest {
namespace {

constexpr char kEsc = '\x00';
constexpr char kEscapedZero = '\xFF';
constexpr char kEndComponent = '\x01';
constexpr char kEndTags = '\x02';
// Two-byte sequences, appended in one call on the hot path.
constexpr char kEscapedZeroSeq[2] = {kEsc, kEscapedZero};
constexpr char kEndComponentSeq[2] = {kEsc, kEndComponent};
constexpr char kEndTagsSeq[2] = {kEsc, kEndTags};

void append_component(std::string* out, std::string_view s) {
  // Bulk-copy the runs between zero bytes; names rarely contain any.
  while (!s.empty()) {
    const void* z = std::memchr(s.data(), 0, s.size());
    if (z == nullptr) {
      out->append(s);
      break;
    }
    const size_t n = static_cast<const char*>(z) - s.data();
    out->append(s.data(), n);
    out->append(kEscapedZeroSeq, 2);
    s.remove_prefix(n + 1);
  }
  out->append(kEndComponentSeq, 2);
}

template <class TagT>
bool tags_strictly_ascending(std::span<const TagT> tags) {
  for (size_t i = 1; i < tags.size(); ++i) {
    if (!(std::string_view(tags[i - 1].first) < std::string_view(tags[i].first))) return false;
  }
  return true;
}

template <class TagT>
bool append_prefix_impl(std::string* out, std::string_view measurement,
                        std::span<const TagT> tags) {
  if (!tags_strictly_ascending(tags)) return false;
  append_component(out, measurement);
  for (const auto& [k, v] : tags) {
    append_component(out, k);
    append_component(out, v);
  }
  out->append(kEndTagsSeq, 2);
  return true;
}

// Reads one component from the front of *in into *out (unescaped).
bool read_component(std::string_view* in, std::string* out) {
  out->clear();
  std::string_view s = *in;
  while (true) {
    const void* z = std::memchr(s.data(), 0, s.size());
    if (z == nullptr) return false;  // Missing terminator.
    const size_t n = static_cast<const char*>(z) - s.data();
    if (n + 1 >= s.size()) return false;  // Truncated escape.
    out->append(s.data(), n);
    const char tag = s[n + 1];
    s.remove_prefix(n + 2);
    if (tag == kEndComponent) break;
    if (tag != kEscapedZero) return false;
    out->push_back('\0');
  }
  *in = s;
  return true;
}

}  // namespace

void append_measurement_prefix(std::string* out, std::string_view measurement) {
  append_component(out, measurement);
}

std::string measurement_prefix(std::string_view measurement) {
  std::string out;
  append_component(&out, measurement);
  return out;
}

bool append_series_prefix(std::string* out, std::string_view measurement,
                          std::span<const Tag> tags) {
  return append_prefix_impl(out, measurement, tags);
}

bool append_series_prefix(std::string* out, std::string_view measurement,
                          std::span<const TagView> tags) {
  return append_prefix_impl(out, measurement, tags);
}

std::string series_prefix(std::string_view measurement, std::span<const Tag> tags) {
  std::string out;
  append_prefix_impl(&out, measurement, tags);
  return out;
}

std::string series_prefix(std::string_view measurement, std::span<const TagView> tags) {
  std::string out;
  append_prefix_impl(&out, measurement, tags);
  return out;
}

void append_field_suffix(std::string* out, std::string_view field) { append_component(out, field); }

bool append_series_key(std::string* out, std::string_view measurement, std::span<const Tag> tags,
                       std::string_view field) {
  if (!append_prefix_impl(out, measurement, tags)) return false;
  append_component(out, field);
  return true;
}

std::string series_key(std::string_view measurement, std::span<const Tag> tags,
                       std::string_view field) {
  std::string out;
  (void)append_series_key(&out, measurement, tags, field);  // On failure out stays "".
  return out;
}

bool decode_series_key(std::string_view key, SeriesKeyParts* out) {
  out->tags.clear();
  if (!read_component(&key, &out->measurement)) return false;
  while (true) {
    if (key.size() >= 2 && key[0] == kEsc && key[1] == kEndTags) {
      key.remove_prefix(2);
      break;
    }
    if (key.empty()) return false;
    Tag& t = out->tags.emplace_back();
    if (!read_component(&key, &t.first) || !read_component(&key, &t.second)) return false;
    // Only strictly ascending tag sets are canonical; anything else has no encoder.
    const size_t n = out->tags.size();
    if (n > 1 && !(out->tags[n - 2].first < out->tags[n - 1].first)) return false;
  }
  if (!read_component(&key, &out->field)) return false;
  return key.empty();
}

}  // namespace flowdb::ingest

#include "ingest/point.h"

#include <algorithm>

namespace flowdb::ingest {

bool sort_tags(std::vector<Tag>* tags) {
  auto by_key = [](const Tag& a, const Tag& b) { return a.first < b.first; };
  // Most senders already emit sorted tags (the spec recommends it): check first.
  if (!std::is_sorted(tags->begin(), tags->end(), by_key)) {
    std::sort(tags->begin(), tags->end(), by_key);
  }
  auto same_key = [](const Tag& a, const Tag& b) { return a.first == b.first; };
  return std::adjacent_find(tags->begin(), tags->end(), same_key) == tags->end();
}

void dedupe_fields(std::vector<Field>* fields, std::vector<uint32_t>* scratch) {
  const size_t n = fields->size();
  if (n < 2) return;
  auto& f = *fields;
  if (n <= 8) {
    // Quadratic but branch-cheap for the common small field sets.
    bool any_dup = false;
    for (size_t i = 1; i < n && !any_dup; ++i) {
      for (size_t j = 0; j < i; ++j) {
        if (f[i].first == f[j].first) {
          any_dup = true;
          break;
        }
      }
    }
    if (!any_dup) return;
  }
  // Order indices by (key, position); equal keys form runs whose first index is
  // the first occurrence and whose last index holds the winning value.
  scratch->resize(n);
  for (uint32_t i = 0; i < n; ++i) (*scratch)[i] = i;
  std::sort(scratch->begin(), scratch->end(), [&f](uint32_t a, uint32_t b) {
    int c = f[a].first.compare(f[b].first);
    return c < 0 || (c == 0 && a < b);
  });
  bool changed = false;
  std::vector<bool> drop;  // Only allocated when duplicates exist.
  for (size_t i = 0; i < n;) {
    size_t j = i + 1;
    while (j < n && f[(*scratch)[j]].first == f[(*scratch)[i]].first) ++j;
    if (j - i > 1) {
      if (!changed) drop.assign(n, false);
      changed = true;
      f[(*scratch)[i]].second = std::move(f[(*scratch)[j - 1]].second);
      for (size_t k = i + 1; k < j; ++k) drop[(*scratch)[k]] = true;
    }
    i = j;
  }
  if (!changed) return;
  size_t out = 0;
  for (size_t i = 0; i < n; ++i) {
    if (drop[i]) continue;
    if (out != i) f[out] = std::move(f[i]);
    ++out;
  }
  f.resize(out);
}

void upsert_tag(std::vector<Tag>* tags, std::string_view key, std::string_view value) {
  auto it = std::lower_bound(tags->begin(), tags->end(), key,
                             [](const Tag& t, std::string_view k) { return t.first < k; });
  if (it != tags->end() && it->first == key) {
    it->second.assign(value);
  } else {
    tags->emplace(it, std::string(key), std::string(value));
  }
}

}  // namespace flowdb::ingest

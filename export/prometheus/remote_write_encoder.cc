#include "export/prometheus/remote_write_encoder.h"

#include <snappy.h>

#include <algorithm>
#include <functional>

namespace flowdb::export_prometheus {
namespace {

using exporter::Sample;

bool is_name_char(unsigned char c, bool allow_colon) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         (allow_colon && c == ':');
}

// Appends `s` to *out with every invalid byte (one per UTF-8 character) as '_'.
void append_sanitized(std::string_view s, bool allow_colon, std::string* out) {
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (is_name_char(c, allow_colon)) {
      out->push_back(ch);
    } else if ((c & 0xC0) != 0x80) {  // not a UTF-8 continuation byte
      out->push_back('_');
    }
  }
}

void sanitize_into(std::string_view a, std::string_view b, bool allow_colon, std::string* out) {
  out->clear();
  if (!a.empty() && a.front() >= '0' && a.front() <= '9') out->push_back('_');
  append_sanitized(a, allow_colon, out);
  if (!b.empty()) {
    out->push_back('_');
    append_sanitized(b, allow_colon, out);
  }
}

int compare_series(const ingest::SeriesKeyParts& a, const ingest::SeriesKeyParts& b) {
  if (int c = a.measurement.compare(b.measurement); c != 0) return c;
  if (int c = a.field.compare(b.field); c != 0) return c;
  const auto c = a.tags <=> b.tags;
  return c < 0 ? -1 : c > 0 ? 1 : 0;
}

double to_double(const ingest::FieldValue& v) {
  switch (v.index()) {
    case 0:
      return std::get<double>(v);
    case 1:
      return static_cast<double>(std::get<int64_t>(v));
    case 2:
      return static_cast<double>(std::get<uint64_t>(v));
    default:
      return std::get<bool>(v) ? 1.0 : 0.0;
  }
}

int64_t floor_div_1000(int64_t us) { return us / 1000 - (us % 1000 < 0 ? 1 : 0); }

}  // namespace

std::string sanitize_metric_name(std::string_view measurement, std::string_view field) {
  std::string out;
  sanitize_into(measurement, field, true, &out);
  return out;
}

std::string sanitize_label_name(std::string_view tag_key) {
  std::string out;
  sanitize_into(tag_key, {}, false, &out);
  return out;
}

uint64_t RemoteWriteEncoder::default_series_hash(const ingest::SeriesKeyParts& s) {
  std::hash<std::string_view> h;
  uint64_t x = h(s.measurement);
  auto mix = [&x](uint64_t v) { x = (x ^ v) * 0x9E3779B97F4A7C15ull + (x >> 29); };
  mix(h(s.field));
  for (const auto& [k, v] : s.tags) {
    mix(h(k));
    mix(h(v));
  }
  return x;
}

RemoteWriteEncoder::Stats RemoteWriteEncoder::encode(std::span<const Sample> batch,
                                                     std::string* body) {
  Stats stats;
  request_.Clear();
  body->clear();
  order_.clear();
  hashes_.resize(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    if (std::holds_alternative<std::string>(batch[i].value)) {
      ++stats.unsupported;
      continue;
    }
    hashes_[i] = hash_(batch[i].series);
    order_.push_back(static_cast<uint32_t>(i));
  }
  // Integer keys only: series hash, then time, then batch position.
  std::sort(order_.begin(), order_.end(), [&](uint32_t a, uint32_t b) {
    if (hashes_[a] != hashes_[b]) return hashes_[a] < hashes_[b];
    if (batch[a].ts_us != batch[b].ts_us) return batch[a].ts_us < batch[b].ts_us;
    return a < b;
  });
  auto same_series = [&](size_t i, size_t j) {
    return batch[order_[i]].series == batch[order_[j]].series;
  };
  for (size_t begin = 0, end; begin < order_.size(); begin = end) {
    // [begin, end): one hash. Almost always one series; after a collision,
    // order it by series (stable: each series stays in time order).
    bool one_series = true;
    for (end = begin + 1; end < order_.size() && hashes_[order_[end]] == hashes_[order_[begin]];
         ++end) {
      one_series = one_series && same_series(begin, end);
    }
    if (!one_series) {
      std::stable_sort(order_.begin() + static_cast<ptrdiff_t>(begin),
                       order_.begin() + static_cast<ptrdiff_t>(end), [&](uint32_t a, uint32_t b) {
                         return compare_series(batch[a].series, batch[b].series) < 0;
                       });
    }
    for (size_t group = begin, i = begin + 1; i <= end; ++i) {
      if (i == end || !same_series(group, i)) {
        add_series(batch, group, i, &stats);
        group = i;
      }
    }
  }
  if (stats.samples > 0) {
    request_.SerializeToString(&serialized_);
    snappy::Compress(serialized_.data(), serialized_.size(), body);
  }
  return stats;
}

void RemoteWriteEncoder::add_series(std::span<const Sample> batch, size_t begin, size_t end,
                                    Stats* stats) {
  if (begin == end) return;
  const ingest::SeriesKeyParts& series = batch[order_[begin]].series;
  size_t n = 0;
  auto next_label = [&]() -> std::pair<std::string, std::string_view>& {
    if (labels_.size() <= n) labels_.resize(n + 1);
    return labels_[n++];
  };
  sanitize_into(series.measurement, series.field, true, &metric_);
  auto& name = next_label();
  name.first = "__name__";
  name.second = metric_;
  for (const auto& [k, v] : series.tags) {
    if (v.empty()) continue;
    auto& label = next_label();
    sanitize_into(k, {}, false, &label.first);
    label.second = v;
  }
  std::sort(labels_.begin(), labels_.begin() + static_cast<ptrdiff_t>(n),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (size_t i = 1; i < n; ++i) {
    if (labels_[i].first == labels_[i - 1].first) {
      stats->unsupported += end - begin;
      return;
    }
  }
  prometheus::TimeSeries* ts = request_.add_timeseries();
  for (size_t i = 0; i < n; ++i) {
    prometheus::Label* l = ts->add_labels();
    l->set_name(labels_[i].first);
    l->set_value(labels_[i].second.data(), labels_[i].second.size());
  }
  prometheus::Sample* last = nullptr;
  for (size_t i = begin; i < end; ++i) {
    const Sample& s = batch[order_[i]];
    const int64_t ms = floor_div_1000(s.ts_us);
    if (last != nullptr && last->timestamp() == ms) {
      ++stats->unsupported;  // same millisecond: the later sample wins
      --stats->samples;
    } else {
      last = ts->add_samples();
      last->set_timestamp(ms);
    }
    last->set_value(to_double(s.value));
    ++stats->samples;
  }
  ++stats->series;
}

}  // namespace flowdb::export_prometheus

// The engine as a PromQL Querier (prom_storage.h).
#include "agent/prom_storage.h"

#include <algorithm>
#include <limits>
#include <optional>

#include "ingest/value_codec.h"

namespace flowdb::agent {
namespace {

bool name_byte(char c, bool first, bool colon) {
  const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  return alpha || (colon && c == ':') || (!first && c >= '0' && c <= '9');
}

std::string sanitize(std::string_view s, bool colon) {
  std::string out;
  out.reserve(s.size() + 1);
  if (!s.empty() && s[0] >= '0' && s[0] <= '9') out.push_back('_');
  for (char c : s) out.push_back(name_byte(c, out.empty(), colon) ? c : '_');
  if (out.empty()) out.push_back('_');
  return out;
}

// ms -> the µs range of the engine, saturating.
int64_t us_lo(int64_t ms) {
  int64_t us;
  if (__builtin_mul_overflow(ms, int64_t{1000}, &us)) {
    return ms < 0 ? std::numeric_limits<int64_t>::min() : std::numeric_limits<int64_t>::max();
  }
  return us;
}
int64_t us_hi(int64_t ms) {
  const int64_t lo = us_lo(ms);
  return lo > std::numeric_limits<int64_t>::max() - 999 ? lo : lo + 999;
}

// Floor division: -1 µs is in millisecond -1.
int64_t ms_of(int64_t us) { return us >= 0 ? us / 1000 : -((-(us + 1)) / 1000) - 1; }

// Whether a series of measurement m can be named `name` at all.
bool measurement_can_match(std::string_view m, std::string_view name) {
  const std::string sm = sanitize(m, true);
  if (name == sm) return true;
  return name.size() > sm.size() + 1 && name.substr(0, sm.size()) == sm && name[sm.size()] == '_';
}

std::optional<double> sample_value(const std::string& encoded) {
  double v;
  if (!ingest::prom_sample_value(encoded, &v)) return std::nullopt;
  return v;
}

bool all_match(const promql::Matchers& ms, const promql::Labels& ls) {
  return std::all_of(ms.begin(), ms.end(), [&](const promql::Matcher& m) { return m.matches(ls); });
}

}  // namespace

std::string prom_metric_name(std::string_view measurement, std::string_view field) {
  if (field == "value") return sanitize(measurement, true);
  std::string n(measurement);
  n += '_';
  n += field;
  return sanitize(n, true);
}

std::string prom_label_name(std::string_view tag) { return sanitize(tag, false); }

promql::Labels prom_labels(const ingest::SeriesKeyParts& parts) {
  promql::Labels ls;
  ls.reserve(parts.tags.size() + 1);
  ls.push_back({"__name__", prom_metric_name(parts.measurement, parts.field)});
  for (const auto& [k, v] : parts.tags) {
    if (v.empty()) continue;
    std::string n = prom_label_name(k);
    if (n == "__name__") continue;
    ls.push_back({std::move(n), v});
  }
  std::stable_sort(ls.begin(), ls.end(),
                   [](const promql::Label& a, const promql::Label& b) { return a.name < b.name; });
  // Two tags that sanitise to one name: the first (in key order) wins.
  ls.erase(
      std::unique(ls.begin(), ls.end(),
                  [](const promql::Label& a, const promql::Label& b) { return a.name == b.name; }),
      ls.end());
  return ls;
}

EngineQuerier::EngineQuerier(Engine& engine, size_t max_samples)
    : engine_(engine), max_samples_(max_samples) {
  opts_.snapshot = engine.get_snapshot();
  opts_.fill_cache = false;  // a long range read must not flush the block cache
}

// One pass over the keys of [mint, maxt] in key order. A key that cannot
// match is stepped over for a few records, then sought past (a seek costs
// more than a few steps); a measurement that cannot carry the wanted
// __name__ is sought past as a whole.
template <typename OnSeries>
void EngineQuerier::walk(const promql::Matchers& matchers, int64_t mint, int64_t maxt,
                         bool want_samples, OnSeries&& on_series) {
  constexpr int kStepsBeforeSeek = 16;
  std::optional<std::string> name;
  for (const promql::Matcher& m : matchers) {
    if (m.name() == "__name__" && m.op() == promql::MatchOp::kEqual) name = m.value();
  }
  ScanRange range;
  range.ts_start = us_lo(mint);
  range.ts_end = us_hi(maxt);
  try {
    ScanIterator it = engine_.scan(range, opts_);
    std::string key, measurement;
    ingest::SeriesKeyParts parts;
    promql::Series cur;
    bool taking = false, measurement_ok = true;
    int skipped = 0;
    std::string target;
    auto seek = [&](const std::string& to, char last) {
      target.assign(to);
      target.push_back(last);
      it.seek(target);
      skipped = 0;
    };
    auto flush = [&] {
      if (!taking || cur.samples.empty()) return true;
      taking = false;
      return on_series(std::move(cur));
    };
    while (const Record* r = it.next()) {
      if (r->key != key) {
        if (!flush()) return;
        key = r->key;
        taking = false;
        skipped = 0;
        cur.samples.clear();
        if (!ingest::decode_series_key(key, &parts)) continue;  // not an agent record
        if (parts.measurement != measurement) {
          measurement = parts.measurement;
          measurement_ok = !name || measurement_can_match(measurement, *name);
        }
        if (!measurement_ok) {  // past every key of this measurement
          std::string next = ingest::measurement_prefix(measurement);
          next.pop_back();  // comp(m) ends 0x00 0x01; 0x00 0x02 sorts after all of m's keys
          seek(next, '\x02');
          continue;
        }
        cur.labels = prom_labels(parts);
        taking = all_match(matchers, cur.labels);
      }
      if (!taking) {
        if (++skipped >= kStepsBeforeSeek) seek(key, '\0');
        continue;
      }
      const std::optional<double> v = sample_value(r->value);
      if (!v) {  // a string field (or undecodable): not a series
        taking = false;
        continue;
      }
      const int64_t t = ms_of(r->ts);
      if (!cur.samples.empty() && cur.samples.back().t == t) {
        cur.samples.back().v = *v;  // two points in one ms: the later one
      } else {
        if (++samples_read_ > max_samples_) {
          throw promql::EvalError("execution",
                                  "query processing would load too many samples into memory in "
                                  "query execution");
        }
        cur.samples.push_back({t, *v});
      }
      if (!want_samples) {  // labels only: one sample proves the series
        if (!flush()) return;
        seek(key, '\0');
      }
    }
    flush();
  } catch (const Error& e) {
    throw promql::StorageError(e.what());
  }
}

void EngineQuerier::select(const promql::Matchers& matchers, int64_t mint, int64_t maxt,
                           const std::function<bool(promql::Series&&)>& fn) {
  walk(matchers, mint, maxt, true, [&](promql::Series&& s) { return fn(std::move(s)); });
}

void EngineQuerier::series(const promql::Matchers& matchers, int64_t mint, int64_t maxt,
                           const std::function<bool(promql::Labels&&)>& fn) {
  walk(matchers, mint, maxt, false, [&](promql::Series&& s) { return fn(std::move(s.labels)); });
}

}  // namespace flowdb::agent

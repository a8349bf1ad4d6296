// histogram_quantile over classic `le` buckets, as Prometheus 2.42's
// funcHistogramQuantile and bucketQuantile (quantile.go): buckets sorted,
// equal bounds merged, counts made monotonic, linear interpolation within
// the bucket, NaN without a +Inf bucket or observations.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>
#include <unordered_map>
#include <vector>

#include "eval_internal.h"

namespace flowdb::promql::detail {
namespace {

struct Bucket {
  double upper;
  double count;
};

// Go's strconv.ParseFloat closely enough for `le` values: the whole string
// must be a number ("+Inf", "0.5", "1e3").
bool parse_bound(std::string_view s, double& out) {
  if (s.empty()) return false;
  std::string str(s);
  char* end = nullptr;
  out = std::strtod(str.c_str(), &end);
  return end == str.c_str() + str.size();
}

std::vector<Bucket> coalesce(const std::vector<Bucket>& b) {
  std::vector<Bucket> out;
  for (const Bucket& x : b) {
    if (!out.empty() && out.back().upper == x.upper) {
      out.back().count += x.count;
    } else {
      out.push_back(x);
    }
  }
  return out;
}

// The "envelope" of the counts: a decrease between buckets (non-atomic
// ingestion, rate() of partial scrapes) would break the binary search.
void ensure_monotonic(std::vector<Bucket>& b) {
  double max = b[0].count;
  for (size_t i = 1; i < b.size(); ++i) {
    if (b[i].count > max) {
      max = b[i].count;
    } else if (b[i].count < max) {
      b[i].count = max;
    }
  }
}

double bucket_quantile(double q, std::vector<Bucket> buckets) {
  if (std::isnan(q)) return NAN;
  if (q < 0) return -INFINITY;
  if (q > 1) return INFINITY;
  std::stable_sort(buckets.begin(), buckets.end(),
                   [](const Bucket& a, const Bucket& b) { return a.upper < b.upper; });
  if (!std::isinf(buckets.back().upper) || buckets.back().upper < 0) return NAN;
  buckets = coalesce(buckets);
  ensure_monotonic(buckets);
  if (buckets.size() < 2) return NAN;
  double observations = buckets.back().count;
  if (observations == 0) return NAN;
  double rank = q * observations;
  // sort.Search over all but the +Inf bucket: the first with count >= rank.
  size_t b = 0;
  while (b < buckets.size() - 1 && !(buckets[b].count >= rank)) ++b;
  if (b == buckets.size() - 1) return buckets[buckets.size() - 2].upper;
  if (b == 0 && buckets[0].upper <= 0) return buckets[0].upper;
  double start = 0;
  double end = buckets[b].upper;
  double count = buckets[b].count;
  if (b > 0) {
    start = buckets[b - 1].upper;
    count -= buckets[b - 1].count;
    rank -= buckets[b - 1].count;
  }
  return start + (end - start) * (rank / count);
}

}  // namespace

Vector histogram_quantile(double q, const Vector& in) {
  struct Histogram {
    Labels labels;
    std::vector<Bucket> buckets;
  };
  // Grouped by all labels but `le` (the name included, as Prometheus);
  // the result drops the name and `le`.
  std::unordered_map<std::string, size_t> index;
  std::vector<Histogram> hists;
  static const std::vector<std::string> kLe = {"le"};
  for (const VectorSample& s : in) {
    double upper = 0;
    if (!parse_bound(label_value(s.labels, "le"), upper)) continue;
    auto [it, fresh] = index.try_emplace(labels_key(drop(s.labels, kLe, false)), hists.size());
    if (fresh) hists.push_back({drop(s.labels, kLe, true), {}});
    hists[it->second].buckets.push_back({upper, s.v});
  }
  Vector out;
  for (Histogram& h : hists) out.push_back({std::move(h.labels), 0, bucket_quantile(q, h.buckets)});
  return out;
}

}  // namespace flowdb::promql::detail

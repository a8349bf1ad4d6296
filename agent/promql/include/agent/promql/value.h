// Values of PromQL evaluation, as Prometheus's promql/value.go: labels,
// samples, series, instant vectors, range vectors (matrices), scalars and
// strings. Timestamps are milliseconds since the Unix epoch (Prometheus's
// resolution); values are doubles.
//
// Plain values: no shared state, copy and move freely.
#pragma once

#include <bit>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace flowdb::promql {

struct Label {
  std::string name;
  std::string value;
  friend auto operator<=>(const Label&, const Label&) = default;
};

// A label set: sorted by name, names unique, no empty values (a label with
// an empty value does not exist in PromQL).
using Labels = std::vector<Label>;

// The value of `name` in `ls`, or "" if absent.
std::string_view label_value(const Labels& ls, std::string_view name);

struct Sample {
  int64_t t = 0;  // ms
  double v = 0;
};

// Prometheus's staleness marker (value.StaleNaN): a NaN with this bit
// pattern ends a series at its timestamp.
inline constexpr uint64_t kStaleNaNBits = 0x7ff0000000000002ull;
inline bool is_stale_nan(double v) { return std::bit_cast<uint64_t>(v) == kStaleNaNBits; }
inline double stale_nan() { return std::bit_cast<double>(kStaleNaNBits); }

// One series: labels and samples in ascending time order.
struct Series {
  Labels labels;
  std::vector<Sample> samples;
};

// An instant-vector element.
struct VectorSample {
  Labels labels;
  int64_t t = 0;
  double v = 0;
};

using Vector = std::vector<VectorSample>;
using Matrix = std::vector<Series>;

struct Scalar {
  int64_t t = 0;
  double v = 0;
};

struct String {
  int64_t t = 0;
  std::string v;
};

using Value = std::variant<Scalar, Vector, Matrix, String>;

}  // namespace flowdb::promql

// Prometheus's duration units, largest first, in milliseconds (internal to
// flowdb_promql; shared by the duration parser and printer). Constant data.
#pragma once

#include <cstdint>
#include <string_view>
#include <utility>

namespace flowdb::promql::internal {

inline constexpr std::pair<std::string_view, std::int64_t> kDurationUnits[] = {
    {"y", 365LL * 24 * 3600 * 1000},
    {"w", 7LL * 24 * 3600 * 1000},
    {"d", 24LL * 3600 * 1000},
    {"h", 3600LL * 1000},
    {"m", 60LL * 1000},
    {"s", 1000},
    {"ms", 1}};

}  // namespace flowdb::promql::internal

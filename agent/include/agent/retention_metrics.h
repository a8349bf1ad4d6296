// The flowdb_retention_* metric families (Prometheus text) of the retention
// thread's stats(). Here, not in agent/core, because only the daemon runs
// the retention thread.
//
// Thread-safety: a pure function.
#pragma once

#include <string>

#include "retention/retention.h"

namespace flowdb::agent {

// The only place these metrics are defined.
std::string retention_metrics_text(const retention::Stats& s);

}  // namespace flowdb::agent

// What the evaluator reads: series selected by label matchers over a time
// range (Prometheus's storage.Querier, reduced to what FlowDB needs).
//
// The agent implements Querier over its engine (agent/prom_storage.*); tests
// implement it over vectors in memory.
#pragma once

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>

#include "agent/promql/matcher.h"
#include "agent/promql/value.h"

namespace flowdb::promql {

// Thrown by a Querier that cannot read (the engine is closed, a file is
// corrupt): the query fails with errorType "execution".
class StorageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Querier {
 public:
  virtual ~Querier() = default;

  // Calls fn once per series that matches all `matchers` and has at least
  // one sample with mint <= t <= maxt (ms, inclusive), with those samples
  // only, ascending in time, labels sorted (value.h Labels). Samples may be
  // stale markers (is_stale_nan). Series come in no particular order. Stops
  // early when fn returns false. Throws StorageError.
  // Thread-safety: one Querier serves one query at a time.
  virtual void select(const Matchers& matchers, int64_t mint, int64_t maxt,
                      const std::function<bool(Series&&)>& fn) = 0;
};

}  // namespace flowdb::promql

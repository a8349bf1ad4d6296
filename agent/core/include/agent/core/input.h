// Input: one configured source of points (a UDP listener, an MQTT client, ...)
// as the daemon sees it, and InputType: what an input plugin registers (its
// key under `inputs:`, its config table, and how to build it). Sinks have the
// same shape in export/core/include/export/core/sink.h.
//
// An input parses payloads and hands records to IngestContext::sink; the
// daemon (agent/) owns the lifecycle: start, stop, readiness, and on SIGHUP
// keeping every input whose settings fingerprint is unchanged.
//
// Thread-safety: start()/stop() from one controlling thread; ready() from any
// thread (the HTTP /ready handler).
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "agent/core/config_schema.h"
#include "agent/core/ingest_context.h"

namespace flowdb::agent {

// The validated settings of one `inputs.<type>[]` entry; each input type's
// config struct derives from it.
struct InputSettings {
  virtual ~InputSettings() = default;
  std::string name;  // unique across inputs; labels metrics and logs
  // agent::fingerprint() of the entry (plus anything read from outside it,
  // such as a password file): a reload keeps an input whose fingerprint is
  // unchanged running, without reconnecting or rebinding.
  std::string fingerprint;
};

class Input {
 public:
  virtual ~Input() = default;
  // Binds / connects. Throws std::runtime_error naming what failed; nothing
  // is left running then. A connection-oriented input may finish connecting
  // in the background (see ready()).
  virtual void start() = 0;
  // Stops receiving and joins its threads. Idempotent.
  virtual void stop() = 0;
  virtual const InputSettings& settings() const = 0;
  // True if the input is receiving as configured; otherwise false with a
  // reason for /ready in *why ("udp input udp0 is not running").
  virtual bool ready(std::string* why) const = 0;
};

// One input plugin. The registry (agent/inputs.cc) lists every InputType.
struct InputType {
  std::string_view type;               // "udp": configured as inputs.udp[]
  std::string_view doc;                // one line for the config reference
  std::span<const KeySpec> (*keys)();  // the table of one entry
  // Builds the settings of one validated entry, with `default_name` if it
  // names none. Throws ConfigError for values no table can check (a broker
  // URI, an unreadable password file).
  std::shared_ptr<const InputSettings> (*settings)(const ParsedTable& entry,
                                                   const std::string& default_name);
  // Builds an input (not started) from settings this type built. `retired`:
  // the settings of this type's inputs that a reload is replacing, for state
  // they left outside the process (an MQTT persistent session's
  // subscriptions). REQUIRES: `s` came from this type's settings().
  std::unique_ptr<Input> (*make)(const InputSettings& s, const IngestContext& ctx,
                                 std::span<const InputSettings* const> retired);
  // Optional checks across all entries of this type (one UDP port per
  // input); records problems in *errs. `entries[i]` built `all[i]`.
  void (*check)(std::span<const InputSettings* const> all,
                std::span<const ParsedTable* const> entries, ConfigErrors* errs) = nullptr;
};

}  // namespace flowdb::agent

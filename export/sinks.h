// The export sink registry: every sink type the agent can configure, with its
// key table (for validation and the docs) and its factory.
//
// Thread-safety: immutable.
#pragma once

#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "agent/config_schema.h"
#include "export/core/sink.h"

namespace flowdb::exporter {

struct SinkType {
  std::string_view name;
  std::span<const agent::KeySpec> (*keys)();
  // Throws agent::ConfigError for bad values in the table.
  std::unique_ptr<Sink> (*make)(const agent::ParsedTable& table);
};

std::span<const SinkType> sink_types();
// nullptr if unknown.
const SinkType* find_sink_type(std::string_view name);
// The keys of an export of `type`: the common keys, then the sink's own.
std::vector<agent::KeySpec> export_keys(const SinkType& type);

}  // namespace flowdb::exporter

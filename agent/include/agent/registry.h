// The plugin registries: every input type and every export sink type this
// build of the agent can configure. The only code that knows all plugins;
// adding one is its folder plus one line in registry.cc (and its target in
// agent/CMakeLists.txt).
//
// Thread-safety: immutable.
#pragma once

#include <span>
#include <string_view>
#include <vector>

#include "agent/core/config_schema.h"
#include "agent/core/input.h"
#include "export/core/sink.h"

namespace flowdb::agent {

// In the order the config reference lists them.
std::span<const InputType* const> input_types();
// nullptr if unknown.
const InputType* find_input_type(std::string_view type);

std::span<const exporter::SinkType> sink_types();
// nullptr if unknown.
const exporter::SinkType* find_sink_type(std::string_view name);
// The keys of an export of `type`: the common keys, then the sink's own.
std::vector<KeySpec> export_keys(const exporter::SinkType& type);

}  // namespace flowdb::agent

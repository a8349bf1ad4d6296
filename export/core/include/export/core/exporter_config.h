// The keys every export shares (name, type, batching, rate limit, retry,
// filter): a declarative table that drives parsing, validation and the docs.
// Each sink adds its own keys (see export/sinks.h).
//
// Thread-safety: immutable tables and plain functions.
#pragma once

#include <span>
#include <string>

#include "agent/core/config_schema.h"
#include "export/core/exporter.h"

namespace flowdb::exporter {

std::span<const agent::KeySpec> common_export_keys();

// Options from a validated export table. Throws agent::ConfigError.
ExporterOptions exporter_options_from(const agent::ParsedTable& t, const std::string& default_name);

}  // namespace flowdb::exporter

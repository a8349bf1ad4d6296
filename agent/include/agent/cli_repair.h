// `flowdb repair --data-dir DIR`: Engine::repair on a directory no agent holds.
#pragma once

#include <string>

namespace flowdb::agent::cli {

// Prints the repair summary to stdout; returns the exit code: 0 if nothing
// was quarantined, 1 if files were moved into DIR/lost/, 2 if DIR holds no
// FlowDB files (a usage error), 4 if repair could not run (the directory is
// held by a running agent, an I/O error).
int run_repair(const std::string& dir, const std::string& config_file);

}  // namespace flowdb::agent::cli

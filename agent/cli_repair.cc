#include "agent/cli_repair.h"

#include <cstdio>
#include <filesystem>

#include "agent/agent_config.h"
#include "agent/core/log.h"
#include "flowdb/engine.h"

namespace flowdb::agent::cli {

namespace {

// The engine settings repair needs from the agent config (`--config`, else
// the defaults): the time bucket width. The backend follows the directory.
Config repair_config(const std::string& dir, const std::string& config_file) {
  Config c = config_file.empty()
                 ? agent::parse_config(agent::default_config_text(), "<default>").engine
                 : agent::load_config(config_file).engine;
  Config r;
  r.data_dir = dir;
  r.time_bucket_secs = c.time_bucket_secs;
  r.compression = c.compression;
  r.logger = agent::engine_logger();
  std::error_code ec;
  const auto pack = std::filesystem::path(dir) / "sst.pack";
  r.storage_backend = std::filesystem::exists(pack, ec) && std::filesystem::file_size(pack, ec) > 0
                          ? StorageBackendKind::SingleFile
                          : StorageBackendKind::MultiFile;
  return r;
}

}  // namespace

int run_repair(const std::string& dir, const std::string& config_file) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    std::fprintf(stderr, "flowdb: no data directory at %s\n", dir.c_str());
    return 2;
  }
  try {
    const RepairResult r = Engine::repair(repair_config(dir, config_file));
    std::printf("repair of %s\n%s", dir.c_str(), r.summary().c_str());
    if (r.clean()) {
      std::printf("result: clean, nothing quarantined\n");
      return 0;
    }
    std::printf("result: %zu file(s) quarantined in %s/lost/ (nothing was deleted)\n",
                r.quarantined.size(), dir.c_str());
    return 1;
  } catch (const agent::ConfigError& e) {
    std::fprintf(stderr, "flowdb: %s\n", e.what());
    return 2;
  } catch (const Error& e) {
    if (e.code() == Errc::Busy) {
      std::fprintf(stderr,
                   "flowdb: %s is held by a running flowdb-agent; stop it before repairing\n",
                   dir.c_str());
      return 4;
    }
    std::fprintf(stderr, "flowdb: repair failed: %s: %s\n",
                 std::string(errc_name(e.code())).c_str(), e.what());
    return e.code() == Errc::NotFound || e.code() == Errc::InvalidArgument ? 2 : 4;
  }
}

}  // namespace flowdb::agent::cli

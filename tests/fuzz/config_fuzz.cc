// Agent YAML config text -> parse_config. The only documented failure is
// ConfigError. The harness unsets nothing: ${VAR} substitution reads the
// environment, secret files are read only if they exist.
#include <string>

#include "agent/agent_config.h"
#include "agent/core/config_schema.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    (void)flowdb::agent::parse_config(text, "fuzz.yaml");
  } catch (const flowdb::agent::ConfigError&) {
  }
  return 0;
}

// Options every sink shares: TLS settings (the `tls:` table of an export).
//
// Thread-safety: plain values and immutable tables.
#pragma once

#include <span>
#include <string>

#include "agent/core/config_schema.h"

namespace flowdb::exporter {

// The keys of an export's `tls:` table.
std::span<const agent::KeySpec> tls_config_keys();

struct TlsOptions {
  std::string ca_file;    // PEM CA bundle; "" = the system's trust store
  std::string cert_file;  // client certificate (mutual TLS); "" = none
  std::string key_file;   // its private key
  bool verify = true;     // verify the server certificate and host name
};

// TLS options from an export table's `tls:` entry (defaults if absent).
// Throws agent::ConfigError for a file that cannot be read, or a cert without a key.
TlsOptions tls_options_from(const agent::ParsedTable& export_table);

}  // namespace flowdb::exporter

// The `tls:` table every input and sink shares, and the options it yields.
//
// Thread-safety: plain values and immutable tables.
#pragma once

#include <span>
#include <string>

#include "agent/core/config_schema.h"

namespace flowdb::agent {

// The keys of a `tls:` table (of an input or an export).
std::span<const KeySpec> tls_config_keys();

struct TlsOptions {
  std::string ca_file;    // PEM CA bundle; "" = the system's trust store
  std::string cert_file;  // client certificate (mutual TLS); "" = none
  std::string key_file;   // its private key
  bool verify = true;     // verify the peer certificate and host name
};

// TLS options from the `tls:` entry of `owner` (defaults if absent).
// Throws ConfigError for a file that cannot be read, or a cert without a key.
TlsOptions tls_options_from(const ParsedTable& owner);

}  // namespace flowdb::agent

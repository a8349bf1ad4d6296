#include "export/core/sink_options.h"

#include <unistd.h>

namespace flowdb::exporter {
namespace {

using agent::KeyKind;
using agent::KeySpec;

constexpr KeySpec kTlsKeys[] = {
    {"ca_file", KeyKind::kString, "", "PEM file of the CA(s) to trust (default: system store)"},
    {"cert_file", KeyKind::kString, "", "PEM client certificate (mutual TLS)"},
    {"key_file", KeyKind::kString, "", "PEM private key of cert_file"},
    {"verify", KeyKind::kBool, "true", "Verify the server certificate and host name"},
};

}  // namespace

std::span<const agent::KeySpec> tls_config_keys() { return kTlsKeys; }

TlsOptions tls_options_from(const agent::ParsedTable& export_table) {
  TlsOptions o;
  const agent::ParsedTable* t = export_table.table("tls");
  if (t == nullptr) return o;
  o.ca_file = t->str("ca_file");
  o.cert_file = t->str("cert_file");
  o.key_file = t->str("key_file");
  o.verify = t->boolean("verify");
  for (const char* k : {"ca_file", "cert_file", "key_file"}) {
    const std::string& f = t->str(k);
    if (!f.empty() && ::access(f.c_str(), R_OK) != 0) {
      t->fail(k, "cannot read '" + f + "'; expected a readable PEM file");
    }
  }
  if (o.cert_file.empty() != o.key_file.empty()) {
    t->fail(o.cert_file.empty() ? "cert_file" : "key_file", "cert_file and key_file go together");
  }
  return o;
}

}  // namespace flowdb::exporter

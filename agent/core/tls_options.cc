#include "agent/core/tls_options.h"

#include <unistd.h>

namespace flowdb::agent {
namespace {

constexpr KeySpec kTlsKeys[] = {
    {.name = "ca_file",
     .kind = KeyKind::kString,
     .doc = "PEM file of the CA(s) to trust (default: system store)"},
    {.name = "cert_file", .kind = KeyKind::kString, .doc = "PEM client certificate (mutual TLS)"},
    {.name = "key_file", .kind = KeyKind::kString, .doc = "PEM private key of cert_file"},
    {.name = "verify",
     .kind = KeyKind::kBool,
     .default_value = "true",
     .doc = "Verify the peer certificate and host name"},
};

}  // namespace

std::span<const KeySpec> tls_config_keys() { return kTlsKeys; }

TlsOptions tls_options_from(const ParsedTable& owner) {
  TlsOptions o;
  const ParsedTable* t = owner.table("tls");
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

}  // namespace flowdb::agent

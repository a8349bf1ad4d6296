#include "export/http/http_config.h"

#include <chrono>

#include "export/core/sink_options.h"

namespace flowdb::export_http {

agent::KeySpec url_key_spec(std::string_view doc) {
  agent::KeySpec k{"url", agent::KeyKind::kString, "", doc};
  k.required = true;
  return k;
}

agent::KeySpec timeout_key_spec() {
  agent::KeySpec k{"timeout", agent::KeyKind::kDuration, "10s",
                   "Limit for one write request (connect to answer)"};
  k.min = 1000;                       // 1 ms
  k.max = int64_t{3600} * 1'000'000;  // 1 h
  return k;
}

agent::KeySpec tls_key_spec() {
  agent::KeySpec k{"tls", agent::KeyKind::kTable, "", "TLS settings for https:// URLs"};
  k.children = exporter::tls_config_keys();
  return k;
}

std::string url_option(const agent::ParsedTable& t, bool allow_query) {
  const std::string& url = t.str("url");
  if (std::string bad = check_url(url, allow_query); !bad.empty()) {
    t.fail("url", "'" + url + "' " + bad);
  }
  return url;
}

HttpClientOptions client_options_from(const agent::ParsedTable& t) {
  HttpClientOptions o;
  o.timeout = std::chrono::milliseconds(t.integer("timeout") / 1000);
  o.tls = exporter::tls_options_from(t);
  return o;
}

void read_basic_auth(const agent::ParsedTable& t, HttpClientOptions* o) {
  o->username = t.str("username");
  o->password = agent::resolve_secret(t, "password");
  if (o->username.empty() && !o->password.empty()) t.fail("username", "required with a password");
}

bool read_auth_token(const agent::ParsedTable& t, std::string_view key, std::string_view scheme,
                     HttpClientOptions* o) {
  const std::string token = agent::resolve_secret(t, key);
  if (token.empty()) return false;
  if (token.find_first_of("\r\n") != std::string::npos) t.fail(key, "contains a line break");
  o->headers.push_back("Authorization: " + std::string(scheme) + " " + token);
  return true;
}

}  // namespace flowdb::export_http

#include "export/http/http_config.h"

#include <chrono>

#include "agent/core/tls_options.h"

namespace flowdb::export_http {

agent::KeySpec url_key_spec(std::string_view doc) {
  return {.name = "url", .kind = agent::KeyKind::kString, .doc = doc, .required = true};
}

agent::KeySpec timeout_key_spec() {
  return {.name = "timeout",
          .kind = agent::KeyKind::kDuration,
          .default_value = "10s",
          .doc = "Limit for one write request (connect to answer)",
          .min = 1000,                        // 1 ms
          .max = int64_t{3600} * 1'000'000};  // 1 h
}

agent::KeySpec tls_key_spec() {
  return {.name = "tls",
          .kind = agent::KeyKind::kTable,
          .doc = "TLS settings for https:// URLs",
          .children = agent::tls_config_keys()};
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
  o.tls = agent::tls_options_from(t);
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

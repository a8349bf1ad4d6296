// The options every HTTP sink reads alike from its config table: the url
// check, timeout, tls, basic auth and token headers, so influx_http and
// prometheus_remote_write (and later HTTP sinks) spell them the same way.
//
// Thread-safety: free functions without shared state.
#pragma once

#include <string>
#include <string_view>

#include "agent/core/config_schema.h"
#include "export/http/http_client.h"

namespace flowdb::export_http {

// KeySpec of the required `url` (documented by `doc`), of `timeout` (a duration, default 10s,
// 1ms..1h) and of `tls` (the table of agent::tls_config_keys()), for a sink's key table.
agent::KeySpec url_key_spec(std::string_view doc);
agent::KeySpec timeout_key_spec();
agent::KeySpec tls_key_spec();

// The `url` key, checked with check_url(). Throws agent::ConfigError naming
// `url` if it is malformed.
std::string url_option(const agent::ParsedTable& t, bool allow_query);

// HttpClientOptions with `timeout` and `tls` from `t`. Throws
// agent::ConfigError for an unreadable TLS file or a cert without a key.
HttpClientOptions client_options_from(const agent::ParsedTable& t);

// Basic auth from `username` and the secret `password` (password /
// password_file / password_env) into *o. Throws agent::ConfigError for a
// password without a username or an unreadable secret.
void read_basic_auth(const agent::ParsedTable& t, HttpClientOptions* o);

// Adds "Authorization: SCHEME SECRET" to o->headers if the secret `key`
// (key / key_file / key_env) is set. Returns whether it was. Throws
// agent::ConfigError for a secret with a line break or an unreadable one.
bool read_auth_token(const agent::ParsedTable& t, std::string_view key, std::string_view scheme,
                     HttpClientOptions* o);

}  // namespace flowdb::export_http

// The prometheus_remote_write sink: Prometheus remote write 1.0 over HTTP(S)
// to Prometheus (--web.enable-remote-write-receiver, /api/v1/write),
// VictoriaMetrics (/api/v1/write), Mimir, Thanos receive, Grafana Cloud, ...
//
//   POST {url}   body: snappy(prometheus.WriteRequest), see remote_write_encoder.h
//   Content-Encoding: snappy, Content-Type: application/x-protobuf,
//   X-Prometheus-Remote-Write-Version: 0.1.0, User-Agent: flowdb
//   basic auth (username / password) or "Authorization: Bearer TOKEN"
//
// Answers map to SendResult as in export/http/http_client.h (Prometheus
// answers 400 for samples it can never take, e.g. out of order or too old:
// kReject). Samples remote write cannot carry (strings, same-millisecond
// duplicates, colliding label names) are skipped and reported in
// SendResult::unsupported.
//
// Thread-safety: see exporter::Sink (one exporter thread at a time).
#pragma once

#include <memory>
#include <span>

#include "agent/core/config_schema.h"
#include "export/core/sink.h"

namespace flowdb::export_prometheus {

// The keys of a prometheus_remote_write export's options (url, ..., tls).
std::span<const agent::KeySpec> prometheus_remote_write_config_keys();

// Builds the sink from options validated against
// prometheus_remote_write_config_keys(). Reads secrets (password/_file/_env,
// bearer_token/_file/_env). Throws agent::ConfigError naming the key for a url
// that is not http(s)://, a password without username, basic auth together
// with a bearer token, or an unreadable TLS or secret file. Does not connect.
std::unique_ptr<exporter::Sink> make_prometheus_remote_write_sink(
    const agent::ParsedTable& options);

}  // namespace flowdb::export_prometheus

// The influx_http sink: writes batches as InfluxDB line protocol over HTTP(S)
// (InfluxDB 1.x /write, InfluxDB 2.x /api/v2/write, and everything that
// speaks them: VictoriaMetrics, QuestDB, Telegraf's http_listener_v2, ...).
//
//   api v1: POST {url}/write?db=DATABASE[&rp=RETENTION_POLICY]&precision=u
//           basic auth from username / password
//   api v2: POST {url}/api/v2/write?[org=ORG&]bucket=BUCKET&precision=us
//           "Authorization: Token TOKEN"
//
// Body: export/influx/influx_line_encoder.h (one line per series and
// timestamp, microsecond timestamps), gzip-compressed unless gzip: false.
// Answers map to SendResult as in export/http/http_client.h; InfluxDB's
// "400 partial write: field type conflict ... dropped=N" is kReject, so the
// core splits the batch to isolate the conflicting points.
//
// Thread-safety: see exporter::Sink (one exporter thread at a time).
#pragma once

#include <memory>
#include <span>

#include "agent/core/config_schema.h"
#include "export/core/sink.h"

namespace flowdb::export_influx {

// The keys of an influx_http export's options (url, api, database, ..., tls).
std::span<const agent::KeySpec> influx_http_config_keys();

// Builds the sink from options validated against influx_http_config_keys().
// Reads secrets (password/_file/_env, token/_file/_env). Throws
// agent::ConfigError naming the key for a bad combination: url not http(s)://
// or with a query, api v1 without database, api v2 without bucket, keys of
// the other api version, a password without username, an unreadable TLS or
// secret file. Does not connect.
std::unique_ptr<exporter::Sink> make_influx_http_sink(const agent::ParsedTable& options);

}  // namespace flowdb::export_influx

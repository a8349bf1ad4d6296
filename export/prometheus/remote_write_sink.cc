#include "export/prometheus/remote_write_sink.h"

#include <string>
#include <utility>

#include "export/http/http_client.h"
#include "export/http/http_config.h"
#include "export/prometheus/remote_write_encoder.h"

namespace flowdb::export_prometheus {
namespace {

using agent::KeyKind;
using agent::KeySpec;

class RemoteWriteSink : public exporter::Sink {
 public:
  RemoteWriteSink(std::string url, export_http::HttpClientOptions http)
      : url_(std::move(url)), client_(std::move(http)) {}

  exporter::SendResult send(std::span<const exporter::Sample> batch) override {
    const RemoteWriteEncoder::Stats stats = encoder_.encode(batch, &body_);
    exporter::SendResult r;
    if (stats.samples > 0)
      r = export_http::to_send_result(client_.post(url_, body_), "remote write");
    r.unsupported = stats.unsupported;
    return r;
  }

  std::string_view type() const override { return "prometheus_remote_write"; }

 private:
  const std::string url_;
  RemoteWriteEncoder encoder_;
  export_http::HttpClient client_;
  std::string body_;  // reused
};

}  // namespace

std::span<const agent::KeySpec> prometheus_remote_write_config_keys() {
  static const KeySpec kKeys[] = {
      export_http::url_key_spec("Remote-write endpoint, http:// or https:// (e.g. "
                                "http://prometheus:9090/api/v1/write)"),
      {.name = "username", .kind = KeyKind::kString, .doc = "User name (basic auth)"},
      {.name = "password", .kind = KeyKind::kSecret, .doc = "Password of username"},
      {.name = "password_file", .kind = KeyKind::kString, .doc = "File holding the password"},
      {.name = "password_env",
       .kind = KeyKind::kString,
       .doc = "Environment variable holding the password"},
      {.name = "bearer_token",
       .kind = KeyKind::kSecret,
       .doc = "Sent as \"Authorization: Bearer ...\""},
      {.name = "bearer_token_file",
       .kind = KeyKind::kString,
       .doc = "File holding the bearer token"},
      {.name = "bearer_token_env",
       .kind = KeyKind::kString,
       .doc = "Environment variable holding the bearer token"},
      export_http::timeout_key_spec(),
      export_http::tls_key_spec(),
  };
  return kKeys;
}

std::unique_ptr<exporter::Sink> make_prometheus_remote_write_sink(const agent::ParsedTable& t) {
  std::string url = export_http::url_option(t, true);
  export_http::HttpClientOptions http = export_http::client_options_from(t);
  http.headers = {"Content-Encoding: snappy", "Content-Type: application/x-protobuf",
                  "X-Prometheus-Remote-Write-Version: 0.1.0"};
  export_http::read_basic_auth(t, &http);
  if (export_http::read_auth_token(t, "bearer_token", "Bearer", &http) && !http.username.empty()) {
    t.fail("bearer_token", "give either username/password or a token");
  }
  return std::make_unique<RemoteWriteSink>(std::move(url), std::move(http));
}

}  // namespace flowdb::export_prometheus

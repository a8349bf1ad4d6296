#include "export/influx/influx_http_sink.h"

#include <string>
#include <utility>

#include "export/http/http_client.h"
#include "export/http/http_config.h"
#include "export/influx/influx_line_encoder.h"

namespace flowdb::export_influx {
namespace {

using agent::KeyKind;
using agent::KeySpec;

constexpr std::string_view kApis[] = {"v1", "v2"};

class InfluxHttpSink : public exporter::Sink {
 public:
  InfluxHttpSink(std::string write_url, bool gzip, bool uint_support,
                 export_http::HttpClientOptions http)
      : url_(std::move(write_url)), gzip_(gzip), encoder_(uint_support), client_(std::move(http)) {}

  exporter::SendResult send(std::span<const exporter::Sample> batch) override {
    body_.clear();
    const uint64_t unsupported = encoder_.encode(batch, &body_);
    exporter::SendResult r;
    if (!body_.empty()) {
      std::string_view wire = body_;
      if (gzip_) {
        if (!gzip_encoder_.compress(body_, &compressed_)) {
          r.status = exporter::SendStatus::kRetry;
          r.message = "influx write: gzip failed";
          return r;
        }
        wire = compressed_;
      }
      r = export_http::to_send_result(client_.post(url_, wire), "influx write");
    }
    r.unsupported = unsupported;
    return r;
  }

  std::string_view type() const override { return "influx_http"; }

 private:
  const std::string url_;
  const bool gzip_;
  InfluxLineEncoder encoder_;
  export_http::GzipEncoder gzip_encoder_;
  export_http::HttpClient client_;
  std::string body_;        // line protocol; reused
  std::string compressed_;  // gzip of body_; reused
};

void forbid(const agent::ParsedTable& t, std::string_view key, std::string_view why) {
  if (!t.str(key).empty()) t.fail(key, why);
}

void forbid_secret(const agent::ParsedTable& t, const std::string& key, std::string_view why) {
  for (const std::string& k : {key, key + "_file", key + "_env"}) forbid(t, k, why);
}

}  // namespace

std::span<const agent::KeySpec> influx_http_config_keys() {
  static const KeySpec kKeys[] = {
      export_http::url_key_spec("Base URL of the server, http:// or https:// (e.g. "
                                "http://influx:8086); /write or /api/v2/write is appended"),
      {.name = "api",
       .kind = KeyKind::kEnum,
       .default_value = "v1",
       .doc = "Write API: v1 (/write, database + basic auth) or v2 (/api/v2/write, bucket + token)",
       .choices = kApis},
      {.name = "database",
       .kind = KeyKind::kString,
       .doc = "v1: database to write to (required for v1)"},
      {.name = "retention_policy",
       .kind = KeyKind::kString,
       .doc = "v1: retention policy (default: the database's)"},
      {.name = "username", .kind = KeyKind::kString, .doc = "v1: user name (basic auth)"},
      {.name = "password", .kind = KeyKind::kSecret, .doc = "v1: password of username"},
      {.name = "password_file", .kind = KeyKind::kString, .doc = "v1: file holding the password"},
      {.name = "password_env",
       .kind = KeyKind::kString,
       .doc = "v1: environment variable holding the password"},
      {.name = "org",
       .kind = KeyKind::kString,
       .doc = "v2: organization name (InfluxDB 2 needs it)"},
      {.name = "bucket",
       .kind = KeyKind::kString,
       .doc = "v2: bucket to write to (required for v2)"},
      {.name = "token",
       .kind = KeyKind::kSecret,
       .doc = "v2: API token, sent as \"Authorization: Token ...\""},
      {.name = "token_file", .kind = KeyKind::kString, .doc = "v2: file holding the token"},
      {.name = "token_env",
       .kind = KeyKind::kString,
       .doc = "v2: environment variable holding the token"},
      {.name = "gzip",
       .kind = KeyKind::kBool,
       .default_value = "true",
       .doc = "gzip request bodies (Content-Encoding: gzip)"},
      {.name = "uint_support",
       .kind = KeyKind::kBool,
       .doc = "Write uint64 fields as 12u; default true for v2, false for v1 (InfluxDB 1.x rejects "
              "12u; they are then written as integers, clamped to 2^63-1)"},
      export_http::timeout_key_spec(),
      export_http::tls_key_spec(),
  };
  return kKeys;
}

std::unique_ptr<exporter::Sink> make_influx_http_sink(const agent::ParsedTable& t) {
  std::string base = export_http::url_option(t, false);
  while (base.ends_with('/')) base.pop_back();
  const bool v2 = t.str("api") == "v2";
  export_http::HttpClientOptions http = export_http::client_options_from(t);
  http.headers.push_back("Content-Type: text/plain; charset=utf-8");
  if (t.boolean("gzip")) http.headers.push_back("Content-Encoding: gzip");
  std::string url;
  if (v2) {
    for (std::string_view k : {"database", "retention_policy", "username"}) {
      forbid(t, k, "is for api v1; api v2 uses org, bucket and token");
    }
    forbid_secret(t, "password", "is for api v1; api v2 uses a token");
    if (t.str("bucket").empty()) t.fail("bucket", "required for api v2");
    export_http::read_auth_token(t, "token", "Token", &http);
    url = base + "/api/v2/write?";
    if (!t.str("org").empty()) url += "org=" + export_http::query_escape(t.str("org")) + "&";
    url += "bucket=" + export_http::query_escape(t.str("bucket")) + "&precision=us";
  } else {
    for (std::string_view k : {"org", "bucket"}) {
      forbid(t, k, "is for api v2; api v1 uses database and retention_policy");
    }
    forbid_secret(t, "token", "is for api v2; api v1 uses username and password");
    if (t.str("database").empty()) t.fail("database", "required for api v1");
    export_http::read_basic_auth(t, &http);
    url = base + "/write?db=" + export_http::query_escape(t.str("database"));
    if (!t.str("retention_policy").empty()) {
      url += "&rp=" + export_http::query_escape(t.str("retention_policy"));
    }
    url += "&precision=u";
  }
  const bool uint_support = t.has("uint_support") ? t.boolean("uint_support") : v2;
  return std::make_unique<InfluxHttpSink>(std::move(url), t.boolean("gzip"), uint_support,
                                          std::move(http));
}

}  // namespace flowdb::export_influx

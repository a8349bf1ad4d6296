// HttpClient: the HTTP(S) POST client the HTTP sinks (influx_http,
// prometheus_remote_write) share, on top of one reusable libcurl easy handle,
// so consecutive posts to the same upstream reuse the connection (keep-alive)
// and its TLS session.
//
// Also here: how an HTTP answer maps to exporter::SendResult (to_send_result),
// gzip for request bodies (GzipEncoder) and query-string escaping.
//
// Status mapping (to_send_result). The rule: only an answer that blames the
// CONTENT is kReject (the core then splits the batch and drops what stays
// refused); anything that can be fixed on the upstream or in the config
// without changing the data is kRetry, so no data is dropped for it.
//   2xx                          kOk
//   no answer (connect refused, DNS, TLS, timeout, reset)       kRetry
//   401, 403, 407 (auth)         kRetry: wrong credentials must not drop data;
//                                the message says "authentication failed"
//   404, 405 (wrong URL / InfluxDB "database not found")        kRetry
//   408, 425, 429, 5xx           kRetry, with the upstream's Retry-After
//   1xx, 3xx (redirects are not followed)                       kRetry
//   400, 413 and every other 4xx kReject (413: smaller halves may fit)
//
// Thread-safety: an HttpClient is used by one thread at a time (like a Sink).
// Distinct clients may be used concurrently; libcurl's global init is done
// once, thread-safely, by the first constructor.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/core/tls_options.h"
#include "export/core/sink.h"

typedef void CURL;  // NOLINT: libcurl's own spelling; keeps curl.h out of this header
struct curl_slist;
struct z_stream_s;

namespace flowdb::export_http {

struct HttpClientOptions {
  // Whole-request limit (connect + send + answer). > 0.
  std::chrono::milliseconds timeout{10'000};
  agent::TlsOptions tls;
  // Basic auth if `username` is not empty.
  std::string username;
  std::string password;
  // Sent on every request, each "Name: value" (e.g. "Content-Type: text/plain",
  // "Authorization: Token ..."). Must not contain CR or LF.
  std::vector<std::string> headers;
  std::string user_agent = "flowdb";
};

// What one POST got back.
struct HttpResponse {
  // HTTP status, or 0 if no HTTP answer arrived (see `error`).
  int status = 0;
  // libcurl's reason when status == 0 (e.g. "Couldn't connect to server:
  // Failed to connect to 127.0.0.1 port 1: Connection refused"); "" otherwise.
  std::string error;
  // The answer's Retry-After (delta-seconds or HTTP-date, clamped at >= 0).
  std::optional<std::chrono::milliseconds> retry_after;
  // The first bytes of the answer's body (at most kBodySnippetBytes).
  std::string body_snippet;
  // Request body bytes handed to the connection.
  uint64_t bytes_sent = 0;

  static constexpr size_t kBodySnippetBytes = 512;
};

class HttpClient {
 public:
  // Throws std::runtime_error if libcurl cannot be initialised (out of memory).
  // Does not connect: connection errors show up in post().
  explicit HttpClient(HttpClientOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // POSTs `body` to `url` (http:// or https://) with the options' headers and
  // auth, and waits for the answer (at most options.timeout). `body` is not
  // copied; it must stay valid during the call. Never throws for network,
  // TLS or HTTP errors: they are in the returned HttpResponse. Reuses the
  // connection of the previous post() when the server kept it open.
  HttpResponse post(const std::string& url, std::string_view body);

 private:
  CURL* curl_ = nullptr;
  curl_slist* headers_ = nullptr;
  HttpClientOptions options_;
};

// Maps a response to the sink result (see the table at the top of this file).
// `what` names the upstream in messages (e.g. "influx write"); the message
// holds the status and the start of the body, never credentials.
exporter::SendResult to_send_result(const HttpResponse& response, std::string_view what);

// Parses a Retry-After value: delta-seconds ("120") or an HTTP-date ("Wed, 21
// Oct 2015 07:28:00 GMT", relative to `now`). Returns nullopt if malformed.
// A date in the past gives 0.
std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value,
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

// Percent-encodes `s` for a URL query value (RFC 3986 unreserved kept).
std::string query_escape(std::string_view s);

// Checks that `url` is http:// or https:// followed by a host, without a
// fragment, and without a query string unless `allow_query`. Returns "" if
// so, else what is wrong.
std::string check_url(std::string_view url, bool allow_query);

// gzip (RFC 1952) compressor for request bodies; keeps its zlib state between
// calls, so steady-state compression allocates nothing but output growth.
// Thread-safety: one thread at a time.
class GzipEncoder {
 public:
  // `level`: zlib level 1 (fastest) .. 9 (smallest). Throws std::runtime_error
  // if zlib cannot allocate its state.
  explicit GzipEncoder(int level = 1);
  GzipEncoder(const GzipEncoder&) = delete;
  GzipEncoder& operator=(const GzipEncoder&) = delete;

  // Replaces *out with the gzip member of `in`. Returns false (with *out
  // cleared) only if zlib fails, which does not happen for valid state.
  bool compress(std::string_view in, std::string* out);

 private:
  struct StreamDeleter {
    void operator()(z_stream_s* zs) const;  // deflateEnd, then frees
  };
  std::unique_ptr<z_stream_s, StreamDeleter> zs_;
};

}  // namespace flowdb::export_http

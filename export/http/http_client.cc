#include "export/http/http_client.h"

#include <curl/curl.h>
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <mutex>
#include <stdexcept>

namespace flowdb::export_http {
namespace {

using exporter::SendResult;
using exporter::SendStatus;

void global_init_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      throw std::runtime_error("curl_global_init failed");
    }
  });
}

bool iequals_prefix(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// State the libcurl callbacks fill during one perform().
struct Exchange {
  HttpResponse* response;
  std::string retry_after;
};

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* x = static_cast<Exchange*>(user);
  std::string_view line(data, size * n);
  if (iequals_prefix(line, "http/")) {
    x->retry_after.clear();  // a new answer (after 100 Continue or a redirect)
  } else if (iequals_prefix(line, "retry-after:")) {
    x->retry_after = std::string(trim(line.substr(12)));
  }
  return size * n;
}

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* x = static_cast<Exchange*>(user);
  std::string& s = x->response->body_snippet;
  if (s.size() < HttpResponse::kBodySnippetBytes) {
    s.append(data, std::min(HttpResponse::kBodySnippetBytes - s.size(), size * n));
  }
  return size * n;
}

// One printable line out of a response body, for log messages.
std::string snippet_for_log(std::string_view body) {
  std::string out;
  for (char c : trim(body.substr(0, 200))) {
    out.push_back(c == '\n' || c == '\r' || c == '\t' ? ' ' : c);
  }
  return out;
}

template <class T>
void set(CURL* c, CURLoption opt, T value) {
  const CURLcode rc = curl_easy_setopt(c, opt, value);
  if (rc != CURLE_OK) {
    throw std::runtime_error(std::string("curl_easy_setopt: ") + curl_easy_strerror(rc));
  }
}

}  // namespace

HttpClient::HttpClient(HttpClientOptions options) : options_(std::move(options)) {
  global_init_once();
  curl_ = curl_easy_init();
  if (curl_ == nullptr) throw std::runtime_error("curl_easy_init failed");
  try {
    for (const std::string& h : options_.headers) {
      curl_slist* next = curl_slist_append(headers_, h.c_str());
      if (next == nullptr) throw std::runtime_error("curl_slist_append failed");
      headers_ = next;
    }
    // No "Expect: 100-continue": it costs a round trip per large batch.
    curl_slist* next = curl_slist_append(headers_, "Expect:");
    if (next == nullptr) throw std::runtime_error("curl_slist_append failed");
    headers_ = next;
    set(curl_, CURLOPT_HTTPHEADER, headers_);
    set(curl_, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM for timeouts: threads
    set(curl_, CURLOPT_PROTOCOLS_STR, "http,https");
    set(curl_, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout.count()));
    set(curl_, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.timeout.count()));
    set(curl_, CURLOPT_TCP_KEEPALIVE, 1L);
    set(curl_, CURLOPT_USERAGENT, options_.user_agent.c_str());
    set(curl_, CURLOPT_HEADERFUNCTION, on_header);
    set(curl_, CURLOPT_WRITEFUNCTION, on_body);
    if (!options_.username.empty()) {
      set(curl_, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
      set(curl_, CURLOPT_USERNAME, options_.username.c_str());
      set(curl_, CURLOPT_PASSWORD, options_.password.c_str());
    }
    const agent::TlsOptions& tls = options_.tls;
    if (!tls.ca_file.empty()) set(curl_, CURLOPT_CAINFO, tls.ca_file.c_str());
    if (!tls.cert_file.empty()) set(curl_, CURLOPT_SSLCERT, tls.cert_file.c_str());
    if (!tls.key_file.empty()) set(curl_, CURLOPT_SSLKEY, tls.key_file.c_str());
    set(curl_, CURLOPT_SSL_VERIFYPEER, tls.verify ? 1L : 0L);
    set(curl_, CURLOPT_SSL_VERIFYHOST, tls.verify ? 2L : 0L);
  } catch (...) {
    curl_slist_free_all(headers_);
    curl_easy_cleanup(curl_);
    throw;
  }
}

HttpClient::~HttpClient() {
  curl_easy_cleanup(curl_);
  curl_slist_free_all(headers_);
}

HttpResponse HttpClient::post(const std::string& url, std::string_view body) {
  HttpResponse r;
  Exchange x{&r, {}};
  char error[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl_, CURLOPT_POST, 1L);
  curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(curl_, CURLOPT_HEADERDATA, &x);
  curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &x);
  curl_easy_setopt(curl_, CURLOPT_ERRORBUFFER, error);
  const CURLcode rc = curl_easy_perform(curl_);
  curl_easy_setopt(curl_, CURLOPT_ERRORBUFFER, nullptr);
  curl_off_t uploaded = 0;
  curl_easy_getinfo(curl_, CURLINFO_SIZE_UPLOAD_T, &uploaded);
  r.bytes_sent = static_cast<uint64_t>(std::max<curl_off_t>(uploaded, 0));
  if (rc != CURLE_OK) {
    r.error = curl_easy_strerror(rc);
    if (error[0] != '\0') r.error += std::string(": ") + error;
    return r;
  }
  long status = 0;
  curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &status);
  r.status = static_cast<int>(status);
  if (!x.retry_after.empty()) r.retry_after = parse_retry_after(x.retry_after);
  return r;
}

SendResult to_send_result(const HttpResponse& response, std::string_view what) {
  SendResult out;
  out.http_status = response.status;
  out.bytes_sent = response.bytes_sent;
  const int s = response.status;
  if (s == 0) {
    out.status = SendStatus::kRetry;
    out.message = std::string(what) + ": " + response.error;
    return out;
  }
  if (s >= 200 && s < 300) return out;
  const bool auth = s == 401 || s == 403 || s == 407;
  const bool retry = auth || s < 200 || (s >= 300 && s < 400) || s == 404 || s == 405 || s == 408 ||
                     s == 425 || s == 429 || s >= 500;
  out.status = retry ? SendStatus::kRetry : SendStatus::kReject;
  if (retry) out.retry_after = response.retry_after;
  out.message =
      std::string(what) + (auth ? ": authentication failed: HTTP " : ": HTTP ") + std::to_string(s);
  const std::string body = snippet_for_log(response.body_snippet);
  if (!body.empty()) out.message += ": " + body;
  return out;
}

std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now) {
  value = trim(value);
  if (value.empty()) return std::nullopt;
  if (std::isdigit(static_cast<unsigned char>(value.front()))) {
    int64_t secs = 0;
    const auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), secs);
    if (ec != std::errc() || p != value.data() + value.size()) return std::nullopt;
    secs = std::min<int64_t>(secs, int64_t{365} * 86400);  // no overflow in ms
    return std::chrono::milliseconds(secs * 1000);
  }
  const time_t when = curl_getdate(std::string(value).c_str(), nullptr);
  if (when < 0) return std::nullopt;
  const auto delta = std::chrono::system_clock::from_time_t(when) - now;
  return std::max(std::chrono::milliseconds(0),
                  std::chrono::duration_cast<std::chrono::milliseconds>(delta));
}

std::string query_escape(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string check_url(std::string_view url, bool allow_query) {
  std::string_view rest = url;
  if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
  } else if (rest.starts_with("https://")) {
    rest.remove_prefix(8);
  } else {
    return "must start with http:// or https://";
  }
  if (rest.empty() || rest.front() == '/') return "has no host";
  if (rest.find('#') != std::string_view::npos) return "must not have a fragment";
  if (!allow_query && rest.find('?') != std::string_view::npos) {
    return "must not have a query string";
  }
  if (rest.find_first_of(" \t\r\n") != std::string_view::npos) return "must not contain spaces";
  return "";
}

void GzipEncoder::StreamDeleter::operator()(z_stream_s* zs) const {
  deflateEnd(zs);  // a no-op (Z_STREAM_ERROR) if deflateInit2 failed
  std::default_delete<z_stream_s>()(zs);
}

GzipEncoder::GzipEncoder(int level) : zs_(std::make_unique<z_stream>().release()) {
  // windowBits 15 + 16: a gzip wrapper instead of zlib's.
  if (deflateInit2(zs_.get(), level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("deflateInit2 failed");
  }
}

bool GzipEncoder::compress(std::string_view in, std::string* out) {
  out->clear();
  if (in.size() > (1u << 31) || deflateReset(zs_.get()) != Z_OK) return false;
  out->resize(deflateBound(zs_.get(), static_cast<uLong>(in.size())));
  zs_->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs_->avail_in = static_cast<uInt>(in.size());
  zs_->next_out = reinterpret_cast<Bytef*>(out->data());
  zs_->avail_out = static_cast<uInt>(out->size());
  // deflateBound() guarantees one Z_FINISH call completes.
  if (deflate(zs_.get(), Z_FINISH) != Z_STREAM_END) {
    out->clear();
    return false;
  }
  out->resize(zs_->total_out);
  return true;
}

}  // namespace flowdb::export_http

#include "agent/http_auth.h"

#include <cstdint>

namespace flowdb::agent {
namespace {

std::optional<std::string> base64_decode(std::string_view in) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
  };
  while (!in.empty() && in.back() == '=') in.remove_suffix(1);
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (const char c : in) {
    const int v = value(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

bool starts_with_scheme(std::string_view h, std::string_view scheme, std::string_view* rest) {
  if (h.size() <= scheme.size() || h[scheme.size()] != ' ') return false;
  for (size_t i = 0; i < scheme.size(); ++i) {
    if ((h[i] | 0x20) != (scheme[i] | 0x20)) return false;  // schemes are case-insensitive
  }
  *rest = h.substr(scheme.size() + 1);
  while (!rest->empty() && rest->front() == ' ') rest->remove_prefix(1);
  while (!rest->empty() && rest->back() == ' ') rest->remove_suffix(1);
  return true;
}

}  // namespace

std::optional<std::string> token_from_authorization(std::string_view header) {
  std::string_view rest;
  if (starts_with_scheme(header, "Token", &rest) || starts_with_scheme(header, "Bearer", &rest)) {
    return std::string(rest);
  }
  if (starts_with_scheme(header, "Basic", &rest)) {
    auto decoded = base64_decode(rest);
    if (!decoded) return std::nullopt;
    const size_t colon = decoded->find(':');
    if (colon == std::string::npos) return std::nullopt;
    return decoded->substr(colon + 1);
  }
  return std::nullopt;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  // Every byte of `a` is compared (against b cyclically) whatever differs.
  unsigned diff = a.size() == b.size() ? 0u : 1u;
  if (b.empty()) return a.empty();
  for (size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i]) ^ static_cast<unsigned char>(b[i % b.size()]);
  }
  return diff == 0;
}

std::vector<std::string> split_tokens(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
    if (!line.empty()) out.emplace_back(line);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return out;
}

void HttpAuth::set(std::vector<std::string> tokens) {
  auto t = std::make_shared<const std::vector<std::string>>(std::move(tokens));
  std::lock_guard lock(mu_);
  tokens_ = std::move(t);
}

bool HttpAuth::enabled() const {
  std::lock_guard lock(mu_);
  return !tokens_->empty();
}

bool HttpAuth::check(const std::optional<std::string>& presented) const {
  std::shared_ptr<const std::vector<std::string>> tokens;
  {
    std::lock_guard lock(mu_);
    tokens = tokens_;
  }
  if (tokens->empty()) return true;
  if (!presented) return false;
  bool ok = false;
  for (const std::string& t : *tokens) ok |= constant_time_equal(*presented, t);  // no early exit
  return ok;
}

}  // namespace flowdb::agent

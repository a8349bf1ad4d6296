// Token authentication of the HTTP listener (http.auth): which credential a
// request carries and whether it matches a configured token.
//
// A request presents a token as `Authorization: Token X` (InfluxDB 2),
// `Authorization: Bearer X`, `Authorization: Basic base64(user:X)` (any user
// name, the token as password: InfluxDB 1.x clients) or, for 1.x clients,
// the query parameters `u`/`p` (p is the token). Tokens are compared in time
// independent of where they differ; they are never logged.
//
// Thread-safety: HttpAuth is thread-safe (set() swaps the tokens under a lock).
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace flowdb::agent {

// The token in an Authorization header value, or nullopt if the header has
// no usable credential (another scheme, bad base64).
std::optional<std::string> token_from_authorization(std::string_view header);
// a == b, in time that depends only on the lengths.
bool constant_time_equal(std::string_view a, std::string_view b);
// Tokens of an http.auth secret: one per line, blank lines ignored.
std::vector<std::string> split_tokens(std::string_view text);

class HttpAuth {
 public:
  // Empty: authentication is off and every request passes.
  void set(std::vector<std::string> tokens);
  bool enabled() const;
  // True if auth is off or `presented` is one of the tokens.
  bool check(const std::optional<std::string>& presented) const;

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const std::vector<std::string>> tokens_ =
      std::make_shared<std::vector<std::string>>();  // guarded by mu_
};

}  // namespace flowdb::agent

#include "agent/core/net_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstdlib>
#include <cstring>

namespace flowdb::agent {

bool parse_host_port(const std::string& s, sockaddr_storage* out, unsigned* len,
                     std::string* error) {
  std::string host, port;
  if (!s.empty() && s[0] == '[') {
    size_t close = s.find(']');
    if (close == std::string::npos || close + 1 >= s.size() || s[close + 1] != ':') {
      *error = "bad address '" + s + "'; expected [ipv6]:port";
      return false;
    }
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
  } else {
    size_t colon = s.rfind(':');
    if (colon == std::string::npos) {
      *error = "bad address '" + s + "'; expected host:port or [ipv6]:port";
      return false;
    }
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
  }
  char* end = nullptr;
  long p = std::strtol(port.c_str(), &end, 10);
  if (port.empty() || *end != '\0' || p < 0 || p > 65535) {
    *error = "bad port in '" + s + "'; expected 0..65535";
    return false;
  }
  std::memset(out, 0, sizeof(*out));
  if (host.empty()) host = "0.0.0.0";
  if (host == "localhost") host = "127.0.0.1";
  auto* v4 = reinterpret_cast<sockaddr_in*>(out);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(out);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(p));
    *len = sizeof(sockaddr_in);
    return true;
  }
  if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(p));
    *len = sizeof(sockaddr_in6);
    return true;
  }
  *error = "bad host in '" + s + "'; expected an IPv4 or IPv6 literal";
  return false;
}

namespace {

bool is_wildcard(const sockaddr_storage& a) {
  if (a.ss_family == AF_INET) {
    return reinterpret_cast<const sockaddr_in&>(a).sin_addr.s_addr == htonl(INADDR_ANY);
  }
  const auto& a6 = reinterpret_cast<const sockaddr_in6&>(a);
  return IN6_IS_ADDR_UNSPECIFIED(&a6.sin6_addr);
}

}  // namespace

bool same_socket(const sockaddr_storage& a, const sockaddr_storage& b) {
  auto port = [](const sockaddr_storage& x) {
    return x.ss_family == AF_INET ? reinterpret_cast<const sockaddr_in&>(x).sin_port
                                  : reinterpret_cast<const sockaddr_in6&>(x).sin6_port;
  };
  if (port(a) != port(b) || port(a) == 0 || a.ss_family != b.ss_family) return false;
  if (is_wildcard(a) || is_wildcard(b)) return true;
  if (a.ss_family == AF_INET) {
    return reinterpret_cast<const sockaddr_in&>(a).sin_addr.s_addr ==
           reinterpret_cast<const sockaddr_in&>(b).sin_addr.s_addr;
  }
  return std::memcmp(&reinterpret_cast<const sockaddr_in6&>(a).sin6_addr,
                     &reinterpret_cast<const sockaddr_in6&>(b).sin6_addr, 16) == 0;
}

}  // namespace flowdb::agent

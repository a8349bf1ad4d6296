// Socket addresses in config values ("host:port", "[v6]:port"), shared by the
// UDP input, the HTTP server and the config checks.
//
// Thread-safety: pure functions.
#pragma once

#include <sys/socket.h>

#include <string>

namespace flowdb::agent {

// Splits "host:port" / "[v6]:port" (host: an IPv4 or IPv6 literal, empty for
// 0.0.0.0, or "localhost") into a sockaddr. Returns false with *error naming
// the expected form if malformed.
bool parse_host_port(const std::string& s, sockaddr_storage* out, unsigned* len,
                     std::string* error);

// Two listen addresses that would collide at bind(): same family and port,
// and the same address or a wildcard on either side. IPv4 and IPv6 never
// collide (the UDP input sets IPV6_V6ONLY); port 0 never does.
bool same_socket(const sockaddr_storage& a, const sockaddr_storage& b);

}  // namespace flowdb::agent

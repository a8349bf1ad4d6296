#include "ingest/udp/udp_input.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <span>
#include <stdexcept>

#include "agent/core/net_address.h"

namespace flowdb::ingest_udp {
namespace {

using agent::KeyKind;
using agent::KeySpec;

constexpr KeySpec kUdpKeys[] = {
    {.name = "name",
     .kind = KeyKind::kString,
     .doc = "Input name used in metrics and logs (default udpN)"},
    {.name = "listen",
     .kind = KeyKind::kStringList,
     .default_value = "[\"127.0.0.1:8089\"]",
     .doc = "Addresses to bind: host:port, [ipv6]:port"},
    {.name = "read_buffer",
     .kind = KeyKind::kSize,
     .default_value = "4MiB",
     .doc = "Socket receive buffer (SO_RCVBUF)",
     .min = 4096,
     .max = 1LL << 30},
    {.name = "batch_messages",
     .kind = KeyKind::kInt,
     .default_value = "64",
     .doc = "Datagrams read per recvmmsg call",
     .min = 1,
     .max = 1024},
    {.name = "max_datagram",
     .kind = KeyKind::kSize,
     .default_value = "64KiB",
     .doc = "Largest datagram; longer ones are dropped",
     .min = 512,
     .max = 65536},
};

std::string errno_text(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

}  // namespace

std::span<const KeySpec> udp_config_keys() {
  static const std::vector<KeySpec> keys =
      agent::concat_keys(kUdpKeys, agent::payload_format_keys());
  return keys;
}

UdpInputConfig udp_config_from(const agent::ParsedTable& t, const std::string& default_name) {
  UdpInputConfig c;
  c.name = t.str("name").empty() ? default_name : t.str("name");
  c.listen = t.list("listen");
  if (c.listen.empty()) t.fail("listen", "empty; expected at least one host:port");
  for (const std::string& a : c.listen) {
    sockaddr_storage ss;
    unsigned len;
    std::string err;
    if (!agent::parse_host_port(a, &ss, &len, &err)) t.fail("listen", err);
  }
  c.payload = agent::payload_options_from(t);
  c.read_buffer = static_cast<size_t>(t.integer("read_buffer"));
  c.batch_messages = static_cast<size_t>(t.integer("batch_messages"));
  c.max_datagram = static_cast<size_t>(t.integer("max_datagram"));
  c.payload.lp.max_line_bytes = c.max_datagram;
  c.fingerprint = agent::fingerprint(t);
  return c;
}

namespace {

// Each UDP port once across all udp inputs.
void check_ports(std::span<const agent::InputSettings* const> all,
                 std::span<const agent::ParsedTable* const> entries, agent::ConfigErrors* errs) {
  struct Seen {
    sockaddr_storage addr;
    std::string owner;  // "input 'udp' (127.0.0.1:8089)"
  };
  std::vector<Seen> seen;
  for (size_t i = 0; i < all.size(); ++i) {
    const auto& c = static_cast<const UdpInputConfig&>(*all[i]);
    for (const std::string& l : c.listen) {
      Seen s{};
      unsigned len = 0;
      std::string err;
      if (!agent::parse_host_port(l, &s.addr, &len, &err)) continue;  // reported already
      s.owner = "input '" + c.name + "' (" + l + ")";
      for (const Seen& other : seen) {
        if (!agent::same_socket(s.addr, other.addr)) continue;
        errs->collect([&] {
          entries[i]->fail(
              "listen", l + " is also taken by " + other.owner + "; expected each UDP port once");
        });
      }
      seen.push_back(std::move(s));
    }
  }
}

}  // namespace

const agent::InputType& udp_input_type() {
  static const agent::InputType type{
      .type = "udp",
      .doc = "UDP inputs",
      .keys = udp_config_keys,
      .settings = [](const agent::ParsedTable& t, const std::string& default_name)
          -> std::shared_ptr<const agent::InputSettings> {
        return std::make_shared<UdpInputConfig>(udp_config_from(t, default_name));
      },
      .make = [](const agent::InputSettings& s, const agent::IngestContext& ctx,
                 std::span<const agent::InputSettings* const>) -> std::unique_ptr<agent::Input> {
        return std::make_unique<UdpInput>(static_cast<const UdpInputConfig&>(s), ctx);
      },
      .check = check_ports,
  };
  return type;
}

UdpInput::UdpInput(UdpInputConfig config, agent::IngestContext ctx)
    : config_(std::move(config)), ctx_(ctx) {}

UdpInput::~UdpInput() { stop(); }

void UdpInput::start() {
  auto cleanup = [&] {
    for (int fd : fds_) ::close(fd);
    fds_.clear();
  };
  for (const std::string& a : config_.listen) {
    sockaddr_storage ss;
    unsigned len;
    std::string err;
    if (!agent::parse_host_port(a, &ss, &len, &err)) {
      cleanup();
      throw std::runtime_error(err);
    }
    int fd = ::socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      cleanup();
      throw std::runtime_error("udp " + a + ": " + errno_text("socket"));
    }
    fds_.push_back(fd);
    int one = 1;
    if (ss.ss_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
    int rcvbuf = static_cast<int>(config_.read_buffer);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
      std::string msg =
          "udp input " + config_.name + ": cannot bind " + a + ": " + std::strerror(errno);
      cleanup();
      throw std::runtime_error(msg);
    }
  }
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  running_ = true;
  thread_ = std::thread([this] { run(); });
  std::string ports;
  for (int p : bound_ports()) {  // (not "a" + to_string(p): GCC 12 -O2 false -Wrestrict)
    if (!ports.empty()) ports += ',';
    ports += std::to_string(p);
  }
  agent::log_info("udp", config_.name + ": listening on " + std::to_string(fds_.size()) +
                             " socket(s), port(s) " + ports);
}

std::vector<int> UdpInput::bound_ports() const {
  std::vector<int> out;
  for (int fd : fds_) {
    sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
    out.push_back(ss.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port)
                                           : ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port));
  }
  return out;
}

bool UdpInput::ready(std::string* why) const {
  if (running_.load()) return true;
  *why = "udp input " + config_.name + " is not running";
  return false;
}

void UdpInput::stop() {
  if (thread_.joinable()) {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(stop_fd_, &one, sizeof(one));
    thread_.join();
  }
  running_ = false;
  for (int fd : fds_) ::close(fd);
  fds_.clear();
  if (stop_fd_ >= 0) ::close(stop_fd_);
  stop_fd_ = -1;
}

void UdpInput::run() {
  const size_t vlen = config_.batch_messages;
  const size_t dgram = config_.max_datagram;
  // One contiguous buffer for all datagrams of a recvmmsg call; not zero-filled, so only the
  // pages the kernel writes datagrams into become resident (64 x 64 KiB slots would be 4 MiB).
  auto buf_mem = std::make_unique_for_overwrite<char[]>(vlen * dgram);
  std::span<char> buf(buf_mem.get(), vlen * dgram);
  std::vector<mmsghdr> msgs(vlen);
  std::vector<iovec> iovs(vlen);
  constexpr size_t kCtl = CMSG_SPACE(sizeof(uint32_t));
  std::vector<char> ctl(vlen * kCtl);
  std::vector<sockaddr_storage> peers(vlen);
  std::vector<uint32_t> last_ovfl(fds_.size(), 0);
  agent::PayloadDecoder decoder(config_.payload);
  agent::PayloadRecords records(ctx_, config_.name);
  agent::InputMetrics& im = ctx_.metrics->input(config_.name);
  std::vector<pollfd> pfds;
  for (int fd : fds_) pfds.push_back({fd, POLLIN, 0});
  pfds.push_back({stop_fd_, POLLIN, 0});

  for (;;) {
    int n = ::poll(pfds.data(), pfds.size(), -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      agent::log_error("udp", config_.name + ": " + errno_text("poll"));
      break;
    }
    if (pfds.back().revents != 0) break;
    for (size_t s = 0; s + 1 < pfds.size(); ++s) {
      if (pfds[s].revents == 0) continue;
      for (;;) {  // drain the socket
        for (size_t i = 0; i < vlen; ++i) {
          iovs[i] = {buf.data() + i * dgram, dgram};
          std::memset(&msgs[i], 0, sizeof(mmsghdr));
          msgs[i].msg_hdr.msg_iov = &iovs[i];
          msgs[i].msg_hdr.msg_iovlen = 1;
          msgs[i].msg_hdr.msg_control = ctl.data() + i * kCtl;
          msgs[i].msg_hdr.msg_controllen = kCtl;
          msgs[i].msg_hdr.msg_name = &peers[i];
          msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
        }
        int got =
            ::recvmmsg(pfds[s].fd, msgs.data(), static_cast<unsigned>(vlen), MSG_DONTWAIT, nullptr);
        if (got <= 0) break;
        auto rules = ctx_.ttl->get();
        const int64_t now = agent::now_us();
        size_t bytes = 0;
        uint64_t points = 0;
        for (int i = 0; i < got; ++i) {
          const msghdr& h = msgs[i].msg_hdr;
          for (cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr;
               c = CMSG_NXTHDR(const_cast<msghdr*>(&h), c)) {
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
              uint32_t total;
              std::memcpy(&total, CMSG_DATA(c), sizeof(total));
              if (total > last_ovfl[s]) {  // datagrams the kernel dropped
                ctx_.metrics->payload_dropped(config_.name, "socket_overflow",
                                              total - last_ovfl[s]);
              }
              last_ovfl[s] = total;
            }
          }
          bytes += msgs[i].msg_len;
          const agent::Sender from{"", &peers[i]};
          if (h.msg_flags & MSG_TRUNC) {
            ctx_.drop_payload(
                config_.name, "payload_too_large", from,
                "datagram larger than max_datagram (" + std::to_string(dgram) + " bytes)");
            continue;
          }
          std::string_view payload(buf.data() + static_cast<size_t>(i) * dgram, msgs[i].msg_len);
          records.begin(rules, now, from);
          points +=
              decoder
                  .parse(
                      payload, now, [&](const ingest::Point& p) { records.add(p); },
                      [&](const ingest::ParseError& e) { ctx_.parse_error(config_.name, e, from); })
                  .points;
          records.end();
        }
        im.points->Increment(static_cast<double>(points));
        im.messages->Increment(got);
        im.bytes->Increment(static_cast<double>(bytes));
        if (!records.empty()) {
          const size_t chunk_points = records.points();
          ctx_.sink->try_submit(config_.name, records.take(), chunk_points);
        }
        if (static_cast<size_t>(got) < vlen) break;
      }
    }
  }
}

}  // namespace flowdb::ingest_udp

// UDP input: InfluxDB line protocol (or JSON) datagrams, as Telegraf's
// socket_listener / Fluent Bit's udp input.
//
// One receive thread per input serves all of its sockets (IPv4 and IPv6) with
// poll(2) and batched recvmmsg(2); an eventfd wakes it for a prompt stop.
// Each datagram may hold many lines; a bad line is counted (per reason) and
// dropped without affecting the other lines. UDP has no acknowledgement, so
// when the batcher queue is full the datagram's points are dropped and counted
// (queue_full); kernel drops are counted as socket_overflow (SO_RXQ_OVFL) and
// truncated datagrams as payload_too_large.
//
// Thread-safety: start()/stop() from one controlling thread.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "agent/core/config_schema.h"
#include "agent/core/input.h"
#include "agent/core/ingest_context.h"
#include "agent/core/payload.h"

namespace flowdb::ingest_udp {

// The declarative table of the keys of one `inputs.udp[]` entry.
std::span<const agent::KeySpec> udp_config_keys();

struct UdpInputConfig : agent::InputSettings {
  std::vector<std::string> listen;  // "127.0.0.1:8089", "[::1]:8089", "0.0.0.0:8089"
  agent::PayloadOptions payload;
  size_t read_buffer = 4u << 20;  // SO_RCVBUF
  size_t batch_messages = 64;     // datagrams per recvmmsg
  size_t max_datagram = 64 * 1024;
};

// Builds the config from a validated table (checks listen addresses).
// Throws agent::ConfigError.
UdpInputConfig udp_config_from(const agent::ParsedTable& t, const std::string& default_name);

// The `udp` input type, for the registry (agent/inputs.cc).
const agent::InputType& udp_input_type();

class UdpInput : public agent::Input {
 public:
  UdpInput(UdpInputConfig config, agent::IngestContext ctx);
  ~UdpInput() override;  // stop()s
  UdpInput(const UdpInput&) = delete;
  UdpInput& operator=(const UdpInput&) = delete;

  // Binds every listen address and starts the thread. Throws std::runtime_error
  // naming the address on failure (nothing is left open).
  void start() override;
  void stop() override;
  const agent::InputSettings& settings() const override { return config_; }
  bool ready(std::string* why) const override;
  const UdpInputConfig& config() const { return config_; }
  // Bound ports, in listen order (useful with port 0).
  std::vector<int> bound_ports() const;
  bool running() const { return running_.load(); }

 private:
  void run();

  UdpInputConfig config_;
  agent::IngestContext ctx_;
  std::vector<int> fds_;
  int stop_fd_ = -1;
  std::atomic<bool> running_{false};
  std::thread thread_;
};

}  // namespace flowdb::ingest_udp

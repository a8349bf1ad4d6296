// flowdb-loadgen: load for flowdb-agent's inputs, in three modes.
//
//   --mode udp (default): InfluxDB line protocol over UDP to HOST:PORT at a
//     target rate (lines/s), many lines per datagram, bounded by count and/or
//     time.
//       flowdb-loadgen --port 8089 --rate 100000 --count 1000000 [--duration 60]
//                      [--host 127.0.0.1] [--lines-per-datagram 50]
//                      [--max-datagram 8192] [--series 1000] [--seed 1]
//   --mode mqtt-pub: the same lines published to an MQTT broker (Paho async
//     client), --lines-per-message per message, QoS 0 or 1, at most --window
//     publishes outstanding per client, --clients connections in parallel.
//       flowdb-loadgen --mode mqtt-pub --broker tcp://127.0.0.1:1883 --topic lg/cpu
//                      --qos 1 --rate 0 --duration 10 [--lines-per-message 100]
//                      [--clients 1] [--window 1000] [--series 1000]
//   --mode mqtt-sub: a discarding subscriber: subscribes to --topic, counts
//     messages and lines and throws them away. Reports the rate the broker
//     delivers from the first to the last message; stops after --idle seconds
//     without a message (once one came) or after --duration. The baseline for
//     the agent's MQTT ingest rate.
//       flowdb-loadgen --mode mqtt-sub --broker tcp://127.0.0.1:1883 --topic 'lg/#'
//                      --qos 1 [--idle 3] [--duration 120]
// Points: measurement "cpu", tags host/region, fields usage_user, usage_system,
// ts in ns advancing 10 s per round of all series (deterministic per seed).
// Output: one line of key=value results on stdout; exit 1 on send errors.
#include <arpa/inet.h>
#include <mqtt/async_client.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

void usage() {
  fprintf(stderr,
          "usage: flowdb-loadgen [--mode udp|mqtt-pub|mqtt-sub]\n"
          "  udp:      --port P [--host 127.0.0.1] [--lines-per-datagram K] [--max-datagram B]\n"
          "  mqtt-pub: [--broker tcp://127.0.0.1:1883] [--topic loadgen/cpu] [--qos 0|1]\n"
          "            [--lines-per-message K] [--clients N] [--window N] [--client-id ID]\n"
          "  mqtt-sub: [--broker tcp://127.0.0.1:1883] [--topic 'loadgen/#'] [--qos 0|1]\n"
          "            [--idle SECS] [--client-id ID]\n"
          "  udp and mqtt-pub: [--rate LINES_PER_S (0 = max)] [--count N] [--duration SECS]\n"
          "                    [--series N] [--seed N]\n");
}

struct Options {
  std::string mode = "udp";
  std::string host = "127.0.0.1";
  int port = 0;
  double rate = 10000, duration = 0, idle = 3;
  uint64_t count = 0, series = 1000, seed = 1;
  size_t per_datagram = 50, max_datagram = 8192;
  std::string broker = "tcp://127.0.0.1:1883", topic, client_id = "flowdb-loadgen";
  int qos = 1;
  size_t per_message = 100, clients = 1, window = 1000;
};

// Parses "--key value" pairs; false on an unknown key or a missing value.
bool parse(int argc, char** argv, Options* o) {
  std::map<std::string, std::string> kv;
  for (int i = 1; i < argc; i += 2) {
    if (i + 1 >= argc || std::strncmp(argv[i], "--", 2) != 0) return false;
    kv[argv[i] + 2] = argv[i + 1];
  }
  auto num = [&](const char* k, auto* out) {
    auto it = kv.find(k);
    if (it == kv.end()) return;
    using T = std::remove_pointer_t<decltype(out)>;
    if constexpr (std::is_floating_point_v<T>) {
      *out = std::atof(it->second.c_str());
    } else {
      *out = static_cast<T>(std::strtoll(it->second.c_str(), nullptr, 10));
    }
    kv.erase(it);
  };
  auto str = [&](const char* k, std::string* out) {
    auto it = kv.find(k);
    if (it == kv.end()) return;
    *out = it->second;
    kv.erase(it);
  };
  str("mode", &o->mode);
  str("host", &o->host);
  str("broker", &o->broker);
  str("topic", &o->topic);
  str("client-id", &o->client_id);
  num("port", &o->port);
  num("rate", &o->rate);
  num("duration", &o->duration);
  num("idle", &o->idle);
  num("count", &o->count);
  num("series", &o->series);
  num("seed", &o->seed);
  num("lines-per-datagram", &o->per_datagram);
  num("max-datagram", &o->max_datagram);
  num("qos", &o->qos);
  num("lines-per-message", &o->per_message);
  num("clients", &o->clients);
  num("window", &o->window);
  if (o->topic.empty()) o->topic = o->mode == "mqtt-sub" ? "loadgen/#" : "loadgen/cpu";
  return kv.empty();
}

// The deterministic line protocol stream: line i of `series` series.
class Lines {
 public:
  Lines(uint64_t series, uint64_t seed) : series_(series), seed_(seed) {}
  // Appends line i (with its newline) to *buf; returns its length.
  // Formatted by hand (std::to_chars): snprintf capped the UDP mode below
  // the agent's rate on a 2-core machine.
  size_t append(uint64_t i, std::string* buf) const {
    const size_t start = buf->size();
    auto num = [buf](auto v) {
      char d[24];
      buf->append(d, static_cast<size_t>(std::to_chars(d, d + sizeof d, v).ptr - d));
    };
    // x / 100 with two decimals, as "%.2f" prints it (x < 10000).
    auto cents = [&](uint64_t x) {
      num(x / 100);
      buf->push_back('.');
      buf->push_back(static_cast<char>('0' + x % 100 / 10));
      buf->push_back(static_cast<char>('0' + x % 10));
    };
    uint64_t s = i % series_, round = i / series_;
    uint64_t h = mix64(seed_ ^ mix64(i));
    buf->append("cpu,host=host_");
    num(s);
    buf->append(",region=r");
    num(s % 8);
    buf->append(" usage_user=");
    cents(h % 10000);
    buf->append(",usage_system=");
    cents((h >> 20) % 10000);
    buf->push_back(' ');
    num(kBaseNs + static_cast<int64_t>(round) * 10'000'000'000);
    buf->push_back('\n');
    return buf->size() - start;
  }

 private:
  static constexpr int64_t kBaseNs = 1'700'000'000'000'000'000;
  uint64_t series_, seed_;
};

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Sleeps until `sent` lines are due at `rate` lines/s since t0 (rate 0: never).
void pace(uint64_t sent, double rate, Clock::time_point t0) {
  if (rate <= 0) return;
  double due = static_cast<double>(sent) / rate, now = seconds_since(t0);
  if (due > now) std::this_thread::sleep_for(std::chrono::duration<double>(due - now));
}

bool more(const Options& o, uint64_t sent, Clock::time_point t0) {
  return (o.count == 0 || sent < o.count) && (o.duration <= 0 || seconds_since(t0) < o.duration);
}

int run_udp(const Options& o) {
  if (o.port <= 0 || o.per_datagram == 0) {
    usage();
    return 64;
  }
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(o.port));
  if (inet_pton(AF_INET, o.host.c_str(), &addr.sin_addr) != 1) {
    fprintf(stderr, "bad host %s\n", o.host.c_str());
    return 64;
  }
  const Lines gen(o.series, o.seed);
  const auto t0 = Clock::now();
  uint64_t sent = 0, dgrams = 0, errors = 0;
  std::string buf, line;
  while (more(o, sent, t0)) {
    buf.clear();
    size_t lines = 0;
    while (lines < o.per_datagram && (o.count == 0 || sent + lines < o.count)) {
      line.clear();
      gen.append(sent + lines, &line);
      if (!buf.empty() && buf.size() + line.size() > o.max_datagram) break;
      buf += line;
      ++lines;
    }
    if (sendto(fd, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0)
      ++errors;
    sent += lines;
    ++dgrams;
    pace(sent, o.rate, t0);
  }
  double secs = seconds_since(t0);
  printf("lines=%llu datagrams=%llu send_errors=%llu seconds=%.3f lines_per_s=%.0f\n",
         static_cast<unsigned long long>(sent), static_cast<unsigned long long>(dgrams),
         static_cast<unsigned long long>(errors), secs, static_cast<double>(sent) / secs);
  close(fd);
  return errors ? 1 : 0;
}

// One publishing connection: messages c, c+N, c+2N, ... of the stream.
struct PubResult {
  uint64_t lines = 0, messages = 0, errors = 0;
};

PubResult publish_share(const Options& o, size_t c, Clock::time_point t0) {
  PubResult r;
  const Lines gen(o.series, o.seed);
  // Paho refuses more than maxBufferedMessages publishes not yet sent.
  mqtt::async_client cli(o.broker, o.client_id + "-" + std::to_string(c),
                         static_cast<int>(o.window) + 16, nullptr);
  mqtt::connect_options co;
  co.set_mqtt_version(MQTTVERSION_3_1_1);
  co.set_clean_session(true);
  co.set_max_inflight(static_cast<int>(o.window));
  try {
    cli.connect(co)->wait();
  } catch (const mqtt::exception& e) {
    fprintf(stderr, "client %zu: connect %s: %s\n", c, o.broker.c_str(), e.what());
    r.errors = 1;
    return r;
  }
  const double rate = o.rate / static_cast<double>(o.clients);
  const uint64_t count = o.count == 0 ? 0 : (o.count + o.clients - 1 - c) / o.clients;
  std::deque<mqtt::delivery_token_ptr> outstanding;
  auto settle = [&](size_t keep) {
    while (outstanding.size() > keep) {
      try {
        outstanding.front()->wait();
      } catch (const mqtt::exception&) {
        ++r.errors;
      }
      outstanding.pop_front();
    }
  };
  std::string payload;
  Options share = o;
  share.count = count;
  for (uint64_t m = 0; more(share, r.lines, t0); ++m) {
    payload.clear();
    uint64_t first = (m * o.clients + c) * o.per_message;
    size_t n = 0;
    while (n < o.per_message && (count == 0 || r.lines + n < count))
      gen.append(first + n++, &payload);
    settle(o.window - 1);
    try {
      outstanding.push_back(cli.publish(o.topic, payload.data(), payload.size(), o.qos, false));
    } catch (const mqtt::exception& e) {
      ++r.errors;
      fprintf(stderr, "client %zu: publish: %s\n", c, e.what());
      break;
    }
    r.lines += n;
    ++r.messages;
    pace(r.lines, rate, t0);
  }
  settle(0);
  try {
    cli.disconnect()->wait();
  } catch (const mqtt::exception&) {
  }
  return r;
}

int run_mqtt_pub(const Options& o) {
  if (o.per_message == 0 || o.clients == 0 || o.window == 0 || o.qos < 0 || o.qos > 2) {
    usage();
    return 64;
  }
  const auto t0 = Clock::now();
  std::vector<PubResult> results(o.clients);
  std::vector<std::thread> threads;
  for (size_t c = 0; c < o.clients; ++c) {
    threads.emplace_back([&, c] { results[c] = publish_share(o, c, t0); });
  }
  for (auto& t : threads) t.join();
  double secs = seconds_since(t0);
  PubResult sum;
  for (const auto& r : results) {
    sum.lines += r.lines;
    sum.messages += r.messages;
    sum.errors += r.errors;
  }
  printf(
      "lines=%llu messages=%llu qos=%d clients=%zu errors=%llu seconds=%.3f lines_per_s=%.0f "
      "messages_per_s=%.0f\n",
      static_cast<unsigned long long>(sum.lines), static_cast<unsigned long long>(sum.messages),
      o.qos, o.clients, static_cast<unsigned long long>(sum.errors), secs,
      static_cast<double>(sum.lines) / secs, static_cast<double>(sum.messages) / secs);
  return sum.errors ? 1 : 0;
}

int run_mqtt_sub(const Options& o) {
  std::atomic<uint64_t> messages{0}, lines{0}, bytes{0};
  std::atomic<int64_t> first_ns{0}, last_ns{0};
  const auto t0 = Clock::now();
  auto since_t0_ns = [&] {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count() + 1;
  };
  mqtt::async_client cli(o.broker, o.client_id, nullptr);
  cli.set_message_callback([&](mqtt::const_message_ptr m) {
    const auto& p = m->get_payload_ref();
    uint64_t n = 0;
    for (const char *s = p.data(), *end = s + p.size(); s < end; ++n) {
      const void* nl = std::memchr(s, '\n', static_cast<size_t>(end - s));
      s = nl ? static_cast<const char*>(nl) + 1 : end;
    }
    int64_t now = since_t0_ns();
    int64_t zero = 0;
    first_ns.compare_exchange_strong(zero, now);
    last_ns.store(now, std::memory_order_relaxed);
    lines.fetch_add(n, std::memory_order_relaxed);
    bytes.fetch_add(p.size(), std::memory_order_relaxed);
    messages.fetch_add(1, std::memory_order_relaxed);
  });
  mqtt::connect_options co;
  co.set_mqtt_version(MQTTVERSION_3_1_1);
  co.set_clean_session(true);
  try {
    cli.connect(co)->wait();
    cli.subscribe(o.topic, o.qos)->wait();
  } catch (const mqtt::exception& e) {
    fprintf(stderr, "connect/subscribe %s: %s\n", o.broker.c_str(), e.what());
    return 1;
  }
  fprintf(stderr, "subscribed to %s at QoS %d; waiting for messages\n", o.topic.c_str(), o.qos);
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // reporting cadence only
    double now = seconds_since(t0);
    if (o.duration > 0 && now >= o.duration) break;
    int64_t last = last_ns.load();
    if (last != 0 && now - static_cast<double>(last) / 1e9 >= o.idle) break;
  }
  try {
    cli.disconnect()->wait();
  } catch (const mqtt::exception&) {
  }
  double span = static_cast<double>(last_ns.load() - first_ns.load()) / 1e9;
  if (span <= 0) span = 1e-9;
  printf(
      "messages=%llu lines=%llu bytes=%llu qos=%d seconds=%.3f lines_per_s=%.0f "
      "messages_per_s=%.0f\n",
      static_cast<unsigned long long>(messages.load()),
      static_cast<unsigned long long>(lines.load()), static_cast<unsigned long long>(bytes.load()),
      o.qos, span, static_cast<double>(lines.load()) / span,
      static_cast<double>(messages.load()) / span);
  return messages.load() == 0 ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!parse(argc, argv, &o) || o.series == 0) {
    usage();
    return 64;
  }
  if (o.mode == "mqtt-sub") return run_mqtt_sub(o);
  if (o.count == 0 && o.duration <= 0) {
    usage();
    return 64;
  }
  if (o.mode == "udp") return run_udp(o);
  if (o.mode == "mqtt-pub") return run_mqtt_pub(o);
  usage();
  return 64;
}

// flowdb-loadgen: sends InfluxDB line protocol over UDP to 127.0.0.1:PORT at a
// target rate (lines/s), many lines per datagram, bounded by count and/or time.
//
//   flowdb-loadgen --port 8089 --rate 100000 --count 1000000 [--duration 60]
//                  [--host 127.0.0.1] [--lines-per-datagram 50]
//                  [--max-datagram 8192] [--series 1000] [--seed 1]
// Points: measurement "cpu", tags host/region, fields usage_user, usage_system,
// ts in ns advancing 10 s per round of all series (deterministic per seed).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

namespace {
uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
void usage() {
  fprintf(stderr,
          "usage: flowdb-loadgen --port P [--host 127.0.0.1] [--rate LINES_PER_S (0 = max)]\n"
          "       [--count N] [--duration SECS] [--lines-per-datagram K] [--max-datagram BYTES]\n"
          "       [--series N] [--seed N]\n");
}
}  // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  int port = 0;
  double rate = 10000, duration = 0;
  uint64_t count = 0, series = 1000, seed = 1;
  size_t per = 50, max_dgram = 8192;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) {
      usage();
      return 64;
    }
    std::string v = argv[++i];
    if (a == "--port")
      port = std::atoi(v.c_str());
    else if (a == "--host")
      host = v;
    else if (a == "--rate")
      rate = std::atof(v.c_str());
    else if (a == "--count")
      count = std::strtoull(v.c_str(), nullptr, 10);
    else if (a == "--duration")
      duration = std::atof(v.c_str());
    else if (a == "--lines-per-datagram")
      per = std::strtoull(v.c_str(), nullptr, 10);
    else if (a == "--max-datagram")
      max_dgram = std::strtoull(v.c_str(), nullptr, 10);
    else if (a == "--series")
      series = std::strtoull(v.c_str(), nullptr, 10);
    else if (a == "--seed")
      seed = std::strtoull(v.c_str(), nullptr, 10);
    else {
      usage();
      return 64;
    }
  }
  if (port <= 0 || (count == 0 && duration <= 0) || per == 0 || series == 0) {
    usage();
    return 64;
  }
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    fprintf(stderr, "bad host %s\n", host.c_str());
    return 64;
  }
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  const int64_t base_ns = 1'700'000'000'000'000'000;
  uint64_t sent = 0, dgrams = 0, errors = 0;
  std::string buf, line;
  char tmp[256];
  auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - t0).count(); };
  while ((count == 0 || sent < count) && (duration <= 0 || elapsed() < duration)) {
    buf.clear();
    size_t lines = 0;
    while (lines < per && (count == 0 || sent + lines < count)) {
      uint64_t i = sent + lines;
      uint64_t s = i % series, round = i / series;
      uint64_t h = mix64(seed ^ mix64(i));
      int n = snprintf(
          tmp, sizeof tmp,
          "cpu,host=host_%llu,region=r%llu usage_user=%.2f,usage_system=%.2f %lld\n",
          static_cast<unsigned long long>(s), static_cast<unsigned long long>(s % 8),
          static_cast<double>(h % 10000) / 100.0, static_cast<double>((h >> 20) % 10000) / 100.0,
          static_cast<long long>(base_ns + static_cast<int64_t>(round) * 10'000'000'000));
      if (!buf.empty() && buf.size() + static_cast<size_t>(n) > max_dgram) break;
      buf.append(tmp, static_cast<size_t>(n));
      ++lines;
    }
    if (sendto(fd, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0)
      ++errors;
    sent += lines;
    ++dgrams;
    if (rate > 0) {
      double due = static_cast<double>(sent) / rate;
      double now = elapsed();
      if (due > now) std::this_thread::sleep_for(std::chrono::duration<double>(due - now));
    }
  }
  double secs = elapsed();
  printf("lines=%llu datagrams=%llu send_errors=%llu seconds=%.3f lines_per_s=%.0f\n",
         static_cast<unsigned long long>(sent), static_cast<unsigned long long>(dgrams),
         static_cast<unsigned long long>(errors), secs, static_cast<double>(sent) / secs);
  close(fd);
  return errors ? 1 : 0;
}

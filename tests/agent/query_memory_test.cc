// The query API streams: a 1,000,000-point query (about 40 MB of line
// protocol) raises the agent's heap by a few MiB at most. The data dir is
// filled through the engine directly, then the agent serves it. The measure
// is the agent's own flowdb_process_heap_bytes (malloc bytes in use), sampled
// while the query runs: a CI machine once reported a 300 MiB VmHWM rise that
// no local run reproduced (kernel RSS accounting and clear_refs differ
// between sandboxes); bytes in use do not depend on them. A materialised
// result (~100 bytes per point) would raise it by ~100 MiB.
#include <atomic>
#include <catch2/catch.hpp>
#include <thread>

#include "agent_util.h"
#include "flowdb/engine.h"
#include "ingest/series_key.h"
#include "ingest/value_codec.h"

using namespace flowdb::testing;

namespace {

// A field of /proc/PID/status in KiB, or -1.
long status_kib(pid_t pid, const std::string& field) {
  std::istringstream in(read_file("/proc/" + std::to_string(pid) + "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::atol(line.c_str() + field.size() + 1);
  }
  return -1;
}

// GET over HTTP/1.1, decoding chunks as they come; counts body lines without
// keeping the body. Returns the head (status line and headers).
std::string stream_lines(int port, const std::string& path, size_t* lines) {
  int fd = tcp_connect(port, 60);
  if (fd < 0) return "";
  std::string req = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  if (::write(fd, req.data(), req.size()) != static_cast<ssize_t>(req.size())) return "";
  std::string buf, head;
  char tmp[65536];
  ssize_t n;
  size_t pos = 0;
  bool in_body = false, done = false, chunked = false;
  size_t chunk_left = 0;
  *lines = 0;
  while (!done && (n = ::read(fd, tmp, sizeof tmp)) > 0) {
    buf.append(tmp, static_cast<size_t>(n));
    if (!in_body) {
      size_t e = buf.find("\r\n\r\n");
      if (e == std::string::npos) continue;
      head = buf.substr(0, e + 2);
      pos = e + 4;
      in_body = true;
      chunked = head.find("Transfer-Encoding: chunked") != std::string::npos;
    }
    if (!chunked) {  // Content-Length or until close
      *lines +=
          static_cast<size_t>(std::count(buf.begin() + static_cast<long>(pos), buf.end(), '\n'));
      buf.clear();
      pos = 0;
      continue;
    }
    for (;;) {
      if (chunk_left == 0) {
        size_t e = buf.find("\r\n", pos);
        if (e == std::string::npos) break;
        chunk_left = std::stoul(buf.substr(pos, e - pos), nullptr, 16) + 2;  // + CRLF
        if (chunk_left == 2) done = true;
        pos = e + 2;
        if (done) break;
      }
      size_t take = std::min(chunk_left, buf.size() - pos);
      // The chunk's data, not the CRLF that ends it.
      const size_t data = std::min(take, chunk_left > 2 ? chunk_left - 2 : 0);
      *lines += static_cast<size_t>(std::count(buf.begin() + static_cast<long>(pos),
                                               buf.begin() + static_cast<long>(pos + data), '\n'));
      pos += take;
      chunk_left -= take;
      if (pos == buf.size()) break;
    }
    buf.erase(0, pos);
    pos = 0;
  }
  ::close(fd);
  return head;
}

}  // namespace

TEST_CASE("A 1,000,000-point query raises the agent's peak RSS by a few MiB",
          "[agent][process][query][slow]") {
  TempDir dir;
  constexpr int kSeries = 100, kPoints = 10000;
  {
    flowdb::Config c;
    c.data_dir = dir / "data";
    auto engine = flowdb::Engine::open(c);
    const int64_t base = std::chrono::duration_cast<std::chrono::microseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count() -
                         int64_t{kPoints} * 1000 - 60'000'000;
    for (int s = 0; s < kSeries; ++s) {
      std::vector<flowdb::Record> b;
      const std::vector<flowdb::ingest::Tag> tags = {{"host", "h" + std::to_string(s)}};
      const std::string key = flowdb::ingest::series_key("cpu", tags, "usage");
      for (int i = 0; i < kPoints; ++i) {
        b.emplace_back(key, base + int64_t{i} * 1000,
                       flowdb::ingest::encode_value(flowdb::ingest::FieldValue(0.5 * i)));
      }
      engine->write_batch(std::move(b));
    }
    engine->close();
  }
  const int http = free_port(), udp = free_port(SOCK_DGRAM);
  write_file(
      dir / "agent.yaml",
      "storage:\n  data_dir: " + (dir / "data") +
          "\ninputs:\n  udp:\n    - name: udp\n      listen: [\"127.0.0.1:" + std::to_string(udp) +
          "\"]\nretention:\n  rules: []\nhttp:\n  listen: 127.0.0.1:" + std::to_string(http) +
          "\n  query_max_points: 2000000\n");
  Process agent({FLOWDB_AGENT_BIN, "--config", dir / "agent.yaml"}, dir / "agent.log");
  REQUIRE(wait_until([&] { return http_get(http, "/health").status == 200; }));
  size_t warm = 0;  // a first small query warms the code paths
  stream_lines(http, "/api/v1/export?format=lp&limit=1000", &warm);
  REQUIRE(warm == 1000);
  auto heap = [&] {
    return metric_value(http_get(http, "/metrics").body, "flowdb_process_heap_bytes");
  };
  const double heap_before = heap();
  REQUIRE(heap_before > 0);  // glibc: the gauge is known
  const long rss_before = status_kib(agent.pid(), "VmRSS");
  std::atomic<bool> done{false};
  double heap_peak = heap_before;
  int samples = 0;
  std::thread sampler([&] {
    while (!done.load()) {
      heap_peak = std::max(heap_peak, heap());
      ++samples;
    }
  });
  size_t lines = 0;
  std::string head = stream_lines(http, "/api/v1/export?format=lp", &lines);
  done = true;
  sampler.join();
  const long rss_after = status_kib(agent.pid(), "VmRSS");
  CHECK(head.find("Transfer-Encoding: chunked") != std::string::npos);
  CHECK(head.find("X-Flowdb-Truncated: false") != std::string::npos);
  CHECK(lines == static_cast<size_t>(kSeries) * kPoints);
  const double rise_kib = (heap_peak - heap_before) / 1024;
  WARN("heap before " << heap_before / 1024 << " KiB, peak of " << samples
                      << " samples during the query " << heap_peak / 1024 << " KiB, rise "
                      << rise_kib << " KiB; VmRSS " << rss_before << " -> " << rss_after << " KiB");
  CHECK(samples >= 3);  // the sampler saw the query, not only its end
  CHECK(rise_kib < 16 * 1024);
}

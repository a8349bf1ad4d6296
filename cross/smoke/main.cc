#include <lz4.h>
#include <yaml-cpp/yaml.h>
#include <zstd.h>

#include <atomic>
#include <boost/json.hpp>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

int main() {
  // std::thread + atomics (the case that hangs when loader and libc are mismatched)
  std::atomic<long> sum{0};
  std::vector<std::jthread> pool;
  for (int t = 0; t < 4; ++t)
    pool.emplace_back([&sum, t] {
      for (int i = 0; i < 100000; ++i) sum += t;
    });
  pool.clear();
  if (sum != 600000) return 1;

  std::string input(64 * 1024, 'x');
  for (size_t i = 0; i < input.size(); i += 7) input[i] = char('a' + i % 26);

  // lz4 round trip
  std::string lz(LZ4_compressBound(int(input.size())), '\0');
  int lzn = LZ4_compress_default(input.data(), lz.data(), int(input.size()), int(lz.size()));
  std::string lzback(input.size(), '\0');
  if (LZ4_decompress_safe(lz.data(), lzback.data(), lzn, int(lzback.size())) != int(input.size()) ||
      lzback != input)
    return 2;

  // zstd round trip
  std::string zs(ZSTD_compressBound(input.size()), '\0');
  size_t zn = ZSTD_compress(zs.data(), zs.size(), input.data(), input.size(), 3);
  if (ZSTD_isError(zn)) return 3;
  std::string zback(input.size(), '\0');
  if (ZSTD_decompress(zback.data(), zback.size(), zs.data(), zn) != input.size() || zback != input)
    return 4;

  // Boost.JSON
  auto jv = boost::json::parse(R"({"series":"cpu.load","points":[1,2,3]})");
  if (jv.at("points").as_array().size() != 3) return 5;

  // yaml-cpp
  YAML::Node cfg = YAML::Load("storage:\n  path: /var/lib/flowdb\n  block_kb: 64\n");
  if (cfg["storage"]["block_kb"].as<int>() != 64) return 6;

  std::printf(
      "ok: threads sum=%ld lz4 %zu->%d zstd %zu->%zu json=%s yaml path=%s sizeof(void*)=%zu\n",
      sum.load(), input.size(), lzn, input.size(), zn, boost::json::serialize(jv).c_str(),
      cfg["storage"]["path"].as<std::string>().c_str(), sizeof(void*));
  return 0;
}

#include <curl/curl.h>
#include <mqtt/async_client.h>
#include <prometheus/counter.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <zlib.h>

#include <CLI/CLI.hpp>
#include <cstdio>
int main(int argc, char** argv) {
  CLI::App app{"deps"};
  CLI11_PARSE(app, argc, argv);
  auto reg = std::make_shared<prometheus::Registry>();
  auto& fam = prometheus::BuildCounter().Name("flowdb_points_total").Help("points").Register(*reg);
  fam.Add({{"src", "mqtt"}}).Increment(42);
  std::string text = prometheus::TextSerializer().Serialize(reg->Collect());
  mqtt::async_client cli("tcp://localhost:1883", "xdeps", mqtt::create_options(MQTTVERSION_5));
  std::printf("ok: curl %s zlib %s paho client=%s\n%s", curl_version_info(CURLVERSION_NOW)->version,
              zlibVersion(), cli.get_client_id().c_str(), text.c_str());
  return text.find("flowdb_points_total{src=\"mqtt\"} 42") == std::string::npos;
}

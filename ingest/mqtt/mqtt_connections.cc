#include "ingest/mqtt/mqtt_connections.h"

#include "ingest/utf8.h"

namespace flowdb::ingest_mqtt {

std::string default_share_group(std::string_view input_name) {
  std::string g = "flowdb-";
  for (char ch : input_name) g += (ch == '/' || ch == '+' || ch == '#') ? '_' : ch;
  return g;
}

bool valid_share_group(std::string_view group) noexcept {
  if (group.empty() || !ingest::valid_utf8(group)) return false;
  return group.find_first_of(std::string_view("/+#\0", 4)) == std::string_view::npos;
}

std::vector<std::string> subscription_filters(const MqttInputConfig& c) {
  if (c.share_group.empty()) return c.topics;
  std::vector<std::string> out;
  out.reserve(c.topics.size());
  for (const std::string& t : c.topics) out.push_back("$share/" + c.share_group + "/" + t);
  return out;
}

std::string connection_client_id(const MqttInputConfig& c, int index) {
  if (c.connections <= 1) return c.client_id;
  return c.client_id + "-" + std::to_string(index + 1);
}

}  // namespace flowdb::ingest_mqtt

#include "mqtt_v5.h"

#include <algorithm>

#include "ingest/utf8.h"

namespace flowdb::ingest_mqtt {

mqtt::properties connect_properties(const MqttInputConfig& c) {
  mqtt::properties props;
  props.add(mqtt::property(mqtt::property::SESSION_EXPIRY_INTERVAL,
                           static_cast<int32_t>(c.session_expiry_s)));
  if (c.receive_maximum > 0) {
    props.add(
        mqtt::property(mqtt::property::RECEIVE_MAXIMUM, static_cast<int32_t>(c.receive_maximum)));
  }
  return props;
}

bool UserPropertyTags::selected(std::string_view name) const {
  return all_ || std::find(names_.begin(), names_.end(), name) != names_.end();
}

size_t UserPropertyTags::extract(const mqtt::properties& props, std::vector<ingest::Tag>* out,
                                 std::string* skipped_name) const {
  out->clear();
  size_t skipped = 0;
  const MQTTProperties& c = props.c_struct();
  for (int i = 0; i < c.count; ++i) {
    const MQTTProperty& p = c.array[i];
    if (p.identifier != MQTTPROPERTY_CODE_USER_PROPERTY) continue;
    std::string_view name(p.value.data.data ? p.value.data.data : "",
                          p.value.data.data ? static_cast<size_t>(p.value.data.len) : 0);
    std::string_view value(p.value.value.data ? p.value.value.data : "",
                           p.value.value.data ? static_cast<size_t>(p.value.value.len) : 0);
    if (!selected(name)) continue;
    if (name.empty() || value.empty() || !ingest::valid_utf8(name) || !ingest::valid_utf8(value)) {
      if (skipped++ == 0) *skipped_name = ingest::valid_utf8(name) ? name : "(not UTF-8)";
      continue;
    }
    ingest::upsert_tag(out, name, value);
  }
  return skipped;
}

}  // namespace flowdb::ingest_mqtt

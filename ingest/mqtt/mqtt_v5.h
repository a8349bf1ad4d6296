// The MQTT 5 parts of an MQTT input's connections: the CONNECT properties
// (Session Expiry Interval, Receive Maximum) and the PUBLISH user properties
// that become tags (user_property_tags). Private to ingest/mqtt.
//
// Thread-safety: UserPropertyTags is immutable after construction; extract()
// may run on several receive threads at once.
#pragma once

#include <mqtt/properties.h>

#include <string>
#include <vector>

#include "ingest/mqtt/mqtt_input.h"
#include "ingest/point.h"

namespace flowdb::ingest_mqtt {

// The CONNECT properties of a protocol 5 connection of `c`.
mqtt::properties connect_properties(const MqttInputConfig& c);

class UserPropertyTags {
 public:
  explicit UserPropertyTags(const MqttInputConfig& c)
      : names_(c.user_property_tags), all_(c.user_property_tags_all) {}

  // Whether any user property becomes a tag.
  bool enabled() const { return all_ || !names_.empty(); }

  // Sets *out to the selected user properties of `props` as tags, sorted by
  // name (of a repeated name the last wins). Skips those whose name or value
  // is empty or not UTF-8 (a tag must be non-empty UTF-8): returns how many,
  // and the first one's name in *skipped_name.
  size_t extract(const mqtt::properties& props, std::vector<ingest::Tag>* out,
                 std::string* skipped_name) const;

 private:
  bool selected(std::string_view name) const;

  std::vector<std::string> names_;
  bool all_;
};

}  // namespace flowdb::ingest_mqtt

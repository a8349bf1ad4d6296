// The connection set of one MQTT input: `connections` clients per broker,
// each with its own client id, all subscribed to the same filters; with more
// than one client (or an explicit share_group) the filters are MQTT shared
// subscriptions, $share/<group>/<filter> (MQTT 5 section 4.8.2; mosquitto 2
// also accepts them from 3.1.1 clients), so the broker hands each message to
// one member of the group.
//
// Thread-safety: free functions without shared state.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ingest/mqtt/mqtt_input.h"

namespace flowdb::ingest_mqtt {

// The share group used when `connections` > 1 and none is configured.
std::string default_share_group(std::string_view input_name);

// A share group name: non-empty valid UTF-8 without '/', '+' or '#'.
bool valid_share_group(std::string_view group) noexcept;

// The filters each client of `c` subscribes to: `c.topics`, prefixed with
// $share/<c.share_group>/ when c.share_group is set.
std::vector<std::string> subscription_filters(const MqttInputConfig& c);

// The client id of connection `index` (0-based) of `c`: c.client_id with one
// connection (so an existing persistent session keeps its id), else
// c.client_id + "-1" ... "-N".
std::string connection_client_id(const MqttInputConfig& c, int index);

}  // namespace flowdb::ingest_mqtt

// Helpers for the mqtt export tests: config tables from YAML, samples, and
// decoding payloads back into samples (independently of the sink's encoder:
// lp through ingest's LineProtocolParser, json through Boost.JSON).
#pragma once

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "agent/core/config_schema.h"
#include "export/core/exporter_config.h"
#include "export/core/sink.h"
#include "export/mqtt/mqtt_sink.h"
#include "ingest/line_protocol.h"

namespace flowdb::export_mqtt_test {

using exporter::Sample;

// An `mqtt` export table parsed from YAML, as the exporter core would.
inline std::shared_ptr<agent::ParsedTable> table(const std::string& yaml) {
  // The sink also reads the common key `name` (the registry puts all common
  // keys first); the others, such as the required `type`, are the core's.
  std::vector<agent::KeySpec> keys;
  for (const agent::KeySpec& k : exporter::common_export_keys()) {
    if (k.name == "name") keys.push_back(k);
  }
  keys = agent::concat_keys(keys, export_mqtt::mqtt_export_config_keys());
  return agent::parse_table(YAML::Load(yaml), keys, "t.yaml", "exports[0]");
}

inline Sample make_sample(std::string measurement, std::vector<ingest::Tag> tags, std::string field,
                          ingest::FieldValue value, int64_t ts_us) {
  Sample s;
  s.series.measurement = std::move(measurement);
  s.series.tags = std::move(tags);
  s.series.field = std::move(field);
  s.value = std::move(value);
  s.ts_us = ts_us;
  return s;
}

// Samples of an lp payload (ns timestamps), one per field of each line.
inline std::vector<Sample> samples_from_lp(std::string_view payload) {
  ingest::LineProtocolResult r = ingest::parse_line_protocol(payload, 0, {});
  CHECK(r.errors.empty());
  std::vector<Sample> out;
  for (const ingest::Point& p : r.points) {
    CHECK(p.has_ts);
    for (const auto& [field, value] : p.fields) {
      out.push_back(make_sample(p.measurement, p.tags, field, value, p.ts_us));
    }
  }
  return out;
}

// Samples of a json payload: an array of {"measurement","tags","fields","ts"}.
inline std::vector<Sample> samples_from_json(std::string_view payload) {
  std::vector<Sample> out;
  const boost::json::value doc = boost::json::parse(payload);
  for (const boost::json::value& v : doc.as_array()) {
    const boost::json::object& o = v.as_object();
    REQUIRE(o.size() == 4);
    Sample s;
    s.series.measurement = o.at("measurement").as_string().c_str();
    for (const auto& t : o.at("tags").as_object()) {
      s.series.tags.emplace_back(std::string(t.key()), std::string(t.value().as_string()));
    }
    const boost::json::object& fields = o.at("fields").as_object();
    REQUIRE(fields.size() == 1);
    s.series.field = std::string(fields.begin()->key());
    const boost::json::value& f = fields.begin()->value();
    if (f.is_double()) {
      s.value = f.as_double();
    } else if (f.is_int64()) {
      s.value = f.as_int64();
    } else if (f.is_uint64()) {
      s.value = f.as_uint64();
    } else if (f.is_bool()) {
      s.value = f.as_bool();
    } else {
      s.value = std::string(f.as_string());
    }
    s.ts_us = o.at("ts").as_int64();
    out.push_back(std::move(s));
  }
  return out;
}

// A total order on samples (for comparing multisets).
inline bool sample_less(const Sample& a, const Sample& b) {
  if (a.series.measurement != b.series.measurement) {
    return a.series.measurement < b.series.measurement;
  }
  if (a.series.tags != b.series.tags) return a.series.tags < b.series.tags;
  if (a.series.field != b.series.field) return a.series.field < b.series.field;
  if (a.ts_us != b.ts_us) return a.ts_us < b.ts_us;
  return a.value < b.value;
}

// CHECKs that `got` and `want` hold the same samples in the same order.
inline void check_same(const std::vector<Sample>& got, const std::vector<Sample>& want) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("sample " << i << ": " << want[i].series.measurement << " " << want[i].series.field);
    CHECK(got[i].series == want[i].series);
    CHECK(got[i].value == want[i].value);
    CHECK(got[i].ts_us == want[i].ts_us);
  }
}

// CHECKs that `got` and `want` hold the same samples in any order.
inline void check_same_set(std::vector<Sample> got, std::vector<Sample> want) {
  std::sort(got.begin(), got.end(), sample_less);
  std::sort(want.begin(), want.end(), sample_less);
  check_same(got, want);
}

}  // namespace flowdb::export_mqtt_test

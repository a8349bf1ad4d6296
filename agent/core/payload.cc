#include "agent/core/payload.h"

namespace flowdb::agent {
namespace {
constexpr std::string_view kFormats[] = {"influx", "json"};
constexpr std::string_view kPrecisions[] = {"ns", "us", "ms", "s"};
constexpr std::string_view kTsFormats[] = {"unix", "unix_ms", "unix_us", "unix_ns", "rfc3339"};

constexpr KeySpec kJsonKeys[] = {
    {.name = "measurement",
     .kind = KeyKind::kString,
     .doc = "Fixed measurement name (used when measurement_field is absent)"},
    {.name = "measurement_field",
     .kind = KeyKind::kString,
     .doc = "Flattened JSON key holding the measurement name"},
    {.name = "tag_keys", .kind = KeyKind::kStringList, .doc = "Flattened JSON keys stored as tags"},
    {.name = "field_keys",
     .kind = KeyKind::kStringList,
     .doc = "Keys stored as fields (empty: every other scalar)"},
    {.name = "timestamp_field",
     .kind = KeyKind::kString,
     .doc = "Key holding the timestamp (empty: receive time)"},
    {.name = "timestamp_format",
     .kind = KeyKind::kEnum,
     .default_value = "unix",
     .doc = "Format of the timestamp field",
     .choices = kTsFormats},
    {.name = "ints_as_int",
     .kind = KeyKind::kBool,
     .default_value = "false",
     .doc = "Store JSON integers as int64/uint64 instead of float"},
};

constexpr KeySpec kPayloadKeys[] = {
    {.name = "format",
     .kind = KeyKind::kEnum,
     .default_value = "influx",
     .doc = "Payload format: InfluxDB line protocol or JSON",
     .choices = kFormats},
    {.name = "precision",
     .kind = KeyKind::kEnum,
     .default_value = "ns",
     .doc =
         "Unit of line-protocol timestamps; stored in microseconds (ns digits below 1 us are cut "
         "off, and points that then collide keep the last: duplicate_timestamp)",
     .choices = kPrecisions},
    {.name = "json",
     .kind = KeyKind::kTable,
     .doc = "JSON mapping (format: json)",
     .children = kJsonKeys},
};
}  // namespace

std::span<const KeySpec> payload_format_keys() { return kPayloadKeys; }

PayloadOptions payload_options_from(const ParsedTable& t) {
  PayloadOptions o;
  o.format =
      t.str("format") == "json" ? PayloadOptions::Format::kJson : PayloadOptions::Format::kInflux;
  o.lp.precision = ingest::parse_precision(t.str("precision")).value_or(ingest::Precision::ns);
  if (const ParsedTable* j = t.table("json")) {
    o.json.measurement = j->str("measurement");
    o.json.measurement_field = j->str("measurement_field");
    o.json.tag_keys = j->list("tag_keys");
    o.json.field_keys = j->list("field_keys");
    o.json.timestamp_field = j->str("timestamp_field");
    const std::string& f = j->str("timestamp_format");
    o.json.ts_format = f == "unix_ms"   ? ingest::JsonFormat::unix_ms
                       : f == "unix_us" ? ingest::JsonFormat::unix_us
                       : f == "unix_ns" ? ingest::JsonFormat::unix_ns
                       : f == "rfc3339" ? ingest::JsonFormat::rfc3339
                                        : ingest::JsonFormat::unix_s;
    o.json.ints_as_int = j->boolean("ints_as_int");
    if (o.format == PayloadOptions::Format::kJson && o.json.measurement.empty() &&
        o.json.measurement_field.empty()) {
      t.fail("json", "needs json.measurement or json.measurement_field");
    }
  }
  return o;
}

PayloadDecoder::PayloadDecoder(const PayloadOptions& o) : format_(o.format) {
  if (format_ == PayloadOptions::Format::kJson) {
    json_ = std::make_unique<ingest::JsonParser>(o.json);
  } else {
    lp_ = std::make_unique<ingest::LineProtocolParser>(o.lp);
  }
}

ingest::ParseStats PayloadDecoder::parse(
    std::string_view payload, int64_t now_us,
    ingest::FunctionRef<void(const ingest::Point&)> on_point,
    ingest::FunctionRef<void(const ingest::ParseError&)> on_error) {
  if (json_) return json_->parse(payload, now_us, on_point, on_error);
  return lp_->parse(payload, now_us, on_point, on_error);
}

}  // namespace flowdb::agent

// Payload formats shared by the inputs: InfluxDB line protocol ("influx") and
// JSON. PayloadFormatKeys() is the config table both inputs embed; a
// PayloadDecoder built from it parses one payload into points.
//
// Thread-safety: PayloadDecoder is not thread-safe (one per receive thread).
#pragma once

#include <memory>
#include <span>
#include <string_view>

#include "agent/core/config_schema.h"
#include "ingest/function_ref.h"
#include "ingest/json_format.h"
#include "ingest/line_protocol.h"

namespace flowdb::agent {

// Keys: format, precision, json (table). To be listed in an input's table.
std::span<const KeySpec> payload_format_keys();

struct PayloadOptions {
  enum class Format { kInflux, kJson } format = Format::kInflux;
  ingest::LineProtocolOptions lp;
  ingest::JsonFormat json;
};
// Reads the payload keys of an input table.
PayloadOptions payload_options_from(const ParsedTable& t);

class PayloadDecoder {
 public:
  explicit PayloadDecoder(const PayloadOptions& o);
  ingest::ParseStats parse(std::string_view payload, int64_t now_us,
                           ingest::FunctionRef<void(const ingest::Point&)> on_point,
                           ingest::FunctionRef<void(const ingest::ParseError&)> on_error);

 private:
  PayloadOptions::Format format_;
  std::unique_ptr<ingest::LineProtocolParser> lp_;
  std::unique_ptr<ingest::JsonParser> json_;
};

}  // namespace flowdb::agent

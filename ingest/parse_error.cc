#include "ingest/parse_error.h"

namespace flowdb::ingest {

std::string_view reason_name(ParseReason reason) noexcept {
  switch (reason) {
    case ParseReason::syntax:
      return "syntax";
    case ParseReason::bad_escape:
      return "bad_escape";
    case ParseReason::no_fields:
      return "no_fields";
    case ParseReason::bad_field_value:
      return "bad_field_value";
    case ParseReason::bad_timestamp:
      return "bad_timestamp";
    case ParseReason::timestamp_out_of_range:
      return "timestamp_out_of_range";
    case ParseReason::invalid_utf8:
      return "invalid_utf8";
    case ParseReason::line_too_long:
      return "line_too_long";
    case ParseReason::nan_or_inf:
      return "nan_or_inf";
    case ParseReason::duplicate_tag:
      return "duplicate_tag";
    case ParseReason::reserved_name:
      return "reserved_name";
    case ParseReason::wrong_type:
      return "wrong_type";
    case ParseReason::missing_measurement:
      return "missing_measurement";
  }
  return "unknown";
}

}  // namespace flowdb::ingest

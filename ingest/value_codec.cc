#include "ingest/value_codec.h"

#include <bit>
#include <cmath>

#include "ingest/utf8.h"

namespace flowdb::ingest {
namespace {

void put_varint(std::string* out, uint64_t v) {
  char buf[10];
  int n = 0;
  while (v >= 0x80) {
    buf[n++] = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  buf[n++] = static_cast<char>(v);
  out->append(buf, n);
}

// Accepts only the minimal encoding that put_varint writes, and it must span all of `in`.
bool get_varint_exact(std::string_view in, uint64_t* v) {
  if (in.empty() || in.size() > 10) return false;
  uint64_t result = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    const auto byte = static_cast<uint8_t>(in[i]);
    const bool last = i + 1 == in.size();
    if (((byte & 0x80) == 0) != last) return false;  // Early stop or truncated.
    if (i == 9 && byte > 1) return false;            // Bits beyond 64.
    if (last && byte == 0 && i > 0) return false;    // Non-minimal (trailing zero group).
    result |= uint64_t(byte & 0x7f) << (7 * i);
  }
  *v = result;
  return true;
}

uint64_t zigzag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
int64_t unzigzag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }

}  // namespace

bool append_value(std::string* out, const FieldValue& v) {
  switch (v.index()) {
    case 0: {
      const double d = std::get<double>(v);
      uint64_t bits = std::bit_cast<uint64_t>(d);
      if (bits == kStaleMarkerBits) {
        out->push_back(static_cast<char>(ValueType::stale));
        return true;
      }
      char buf[9];
      buf[0] = static_cast<char>(std::isfinite(d) ? ValueType::float64 : ValueType::nonfinite);
      for (int i = 0; i < 8; ++i) buf[1 + i] = static_cast<char>(bits >> (8 * i));
      out->append(buf, 9);
      return true;
    }
    case 1:
      out->push_back(static_cast<char>(ValueType::int64));
      put_varint(out, zigzag(std::get<int64_t>(v)));
      return true;
    case 2:
      out->push_back(static_cast<char>(ValueType::uint64));
      put_varint(out, std::get<uint64_t>(v));
      return true;
    case 3:
      out->push_back(
          static_cast<char>(std::get<bool>(v) ? ValueType::bool_true : ValueType::bool_false));
      return true;
    default:
      out->push_back(static_cast<char>(ValueType::string));
      out->append(std::get<std::string>(v));
      return true;
  }
}

std::string encode_value(const FieldValue& v) {
  std::string out;
  (void)append_value(&out, v);  // On failure out stays "".
  return out;
}

bool prom_sample_value(std::string_view encoded, double* out) {
  const uint8_t type = encoded.empty() ? 0 : static_cast<uint8_t>(encoded[0]);
  if (encoded.size() == 9 && (type == 0x01 || type == 0x08)) {
    // The common case first (float64, and 0x08), without a FieldValue.
    uint64_t bits = 0;
    for (int i = 0; i < 8; ++i) bits |= uint64_t(static_cast<uint8_t>(encoded[1 + i])) << (8 * i);
    const double d = std::bit_cast<double>(bits);
    if (std::isfinite(d) != (type == 0x01)) return false;  // not what the encoder writes
    *out = d;
    return true;
  }
  if (is_stale_marker(encoded)) {
    *out = std::bit_cast<double>(kStaleMarkerBits);
    return true;
  }
  FieldValue v;
  if (!decode_value(encoded, &v)) return false;
  if (const double* d = std::get_if<double>(&v)) {
    *out = *d;
  } else if (const int64_t* i = std::get_if<int64_t>(&v)) {
    *out = static_cast<double>(*i);
  } else if (const uint64_t* u = std::get_if<uint64_t>(&v)) {
    *out = static_cast<double>(*u);
  } else if (const bool* b = std::get_if<bool>(&v)) {
    *out = *b ? 1.0 : 0.0;
  } else {
    return false;  // a string is no sample
  }
  return true;
}

bool decode_value(std::string_view in, FieldValue* out) {
  if (in.empty()) return false;
  const auto type = static_cast<ValueType>(static_cast<uint8_t>(in[0]));
  in.remove_prefix(1);
  switch (type) {
    case ValueType::float64: {
      if (in.size() != 8) return false;
      uint64_t bits = 0;
      for (int i = 0; i < 8; ++i) bits |= uint64_t(static_cast<uint8_t>(in[i])) << (8 * i);
      const double d = std::bit_cast<double>(bits);
      if (!std::isfinite(d)) return false;
      *out = d;
      return true;
    }
    case ValueType::int64: {
      uint64_t u;
      if (!get_varint_exact(in, &u)) return false;
      *out = unzigzag(u);
      return true;
    }
    case ValueType::uint64: {
      uint64_t u;
      if (!get_varint_exact(in, &u)) return false;
      *out = u;
      return true;
    }
    case ValueType::bool_false:
    case ValueType::bool_true:
      if (!in.empty()) return false;
      *out = type == ValueType::bool_true;
      return true;
    case ValueType::string:
      if (!valid_utf8(in)) return false;
      *out = std::string(in);
      return true;
  }
  return false;
}

}  // namespace flowdb::ingest

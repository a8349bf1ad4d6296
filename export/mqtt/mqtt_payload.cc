#include "export/mqtt/mqtt_payload.h"

#include <lz4.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <cstring>

#include "ingest/line_protocol.h"
#include "ingest/utf8.h"

namespace flowdb::export_mqtt {
namespace {

bool append_lp(const exporter::Sample& s, std::string* out) {
  ingest::Point p;
  p.measurement = s.series.measurement;
  p.tags = s.series.tags;
  p.fields.emplace_back(s.series.field, s.value);
  p.ts_us = s.ts_us;
  p.has_ts = true;
  return ingest::append_line_protocol(out, p, ingest::Precision::ns);
}

bool append_json(const exporter::Sample& s, std::string* out) {
  const auto& k = s.series;
  if (k.measurement.empty() || k.field.empty() || !ingest::valid_utf8(k.measurement) ||
      !ingest::valid_utf8(k.field)) {
    return false;
  }
  boost::json::object tags;
  for (const auto& [name, value] : k.tags) {
    if (name.empty() || !ingest::valid_utf8(name) || !ingest::valid_utf8(value)) return false;
    tags[name] = value;
  }
  boost::json::value v;
  switch (s.value.index()) {
    case 0: {
      const double d = std::get<double>(s.value);
      if (!std::isfinite(d)) return false;
      v = d;
      break;
    }
    case 1:
      v = std::get<int64_t>(s.value);
      break;
    case 2:
      v = std::get<uint64_t>(s.value);
      break;
    case 3:
      v = std::get<bool>(s.value);
      break;
    default: {
      const std::string& str = std::get<std::string>(s.value);
      if (!ingest::valid_utf8(str)) return false;
      v = str;
    }
  }
  boost::json::object fields;
  fields[k.field] = std::move(v);
  boost::json::object o;
  o["measurement"] = k.measurement;
  o["tags"] = std::move(tags);
  o["fields"] = std::move(fields);
  o["ts"] = s.ts_us;
  out->append(boost::json::serialize(o));
  return true;
}

void put_le32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

uint32_t get_le32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return v;
}

}  // namespace

bool append_sample(PayloadFormat format, const exporter::Sample& sample, std::string* out) {
  const size_t old_size = out->size();
  const bool ok =
      format == PayloadFormat::kLineProtocol ? append_lp(sample, out) : append_json(sample, out);
  if (!ok) out->resize(old_size);
  return ok;
}

std::string lz4_frame(std::string_view text) {
  const int n = static_cast<int>(text.size());
  std::string out(kLz4HeaderBytes + static_cast<size_t>(LZ4_compressBound(n)), '\0');
  std::memcpy(out.data(), kLz4Magic.data(), kLz4Magic.size());
  put_le32(out.data() + 4, static_cast<uint32_t>(text.size()));
  const int z =
      LZ4_compress_default(text.data(), out.data() + kLz4HeaderBytes, n, LZ4_compressBound(n));
  out.resize(kLz4HeaderBytes + static_cast<size_t>(std::max(z, 0)));
  return out;
}

bool lz4_unframe(std::string_view frame, std::string* out) {
  if (frame.size() < kLz4HeaderBytes || frame.substr(0, 4) != kLz4Magic) return false;
  const uint32_t n = get_le32(frame.data() + 4);
  if (n > static_cast<uint32_t>(LZ4_MAX_INPUT_SIZE)) return false;
  out->assign(n, '\0');
  const int got =
      LZ4_decompress_safe(frame.data() + kLz4HeaderBytes, out->data(),
                          static_cast<int>(frame.size() - kLz4HeaderBytes), static_cast<int>(n));
  return got >= 0 && static_cast<uint32_t>(got) == n;
}

PackResult pack_payloads(std::span<const std::string> units, PayloadFormat format,
                         Compression compression, size_t max_bytes) {
  PackResult r;
  const size_t n = units.size();
  const bool json = format == PayloadFormat::kJson;
  // prefix[i] = bytes of units [0, i).
  std::vector<size_t> prefix(n + 1, 0);
  for (size_t i = 0; i < n; ++i) prefix[i + 1] = prefix[i] + units[i].size();
  // Uncompressed size of a payload holding units [i, j), i < j.
  auto raw_size = [&](size_t i, size_t j) {
    return prefix[j] - prefix[i] + (json ? 2 + (j - i - 1) : 0);
  };
  // The largest j > i with raw_size(i, j) <= budget, or i if none.
  auto fit = [&](size_t i, size_t budget) {
    size_t j = i;
    while (j < n && raw_size(i, j + 1) <= budget) ++j;
    return j;
  };
  auto encode = [&](size_t i, size_t j) {
    std::string text;
    text.reserve(raw_size(i, j));
    if (json) text.push_back('[');
    for (size_t u = i; u < j; ++u) {
      if (json && u > i) text.push_back(',');
      text.append(units[u]);
    }
    if (json) text.push_back(']');
    return compression == Compression::kLz4 ? lz4_frame(text) : text;
  };

  // lz4: uncompressed bytes expected to fit one message (unknown at first:
  // try everything that is left).
  std::optional<size_t> lz4_budget;
  size_t i = 0;
  while (i < n) {
    size_t j;
    if (compression == Compression::kNone) {
      j = fit(i, max_bytes);
    } else {
      j = lz4_budget ? std::max(fit(i, *lz4_budget), i + 1) : n;
    }
    std::string payload = j > i ? encode(i, j) : std::string();
    while (j == i || payload.size() > max_bytes) {
      if (j <= i + 1) {
        r.oversize = i;
        r.oversize_bytes = j > i ? payload.size() : encode(i, i + 1).size();
        return r;
      }
      // Shrink in proportion to the excess (at least one unit less).
      const size_t count = j - i;
      const size_t scaled =
          static_cast<size_t>(static_cast<double>(count) * static_cast<double>(max_bytes) /
                              static_cast<double>(payload.size()) * 0.95);
      j = i + std::clamp<size_t>(scaled, 1, count - 1);
      payload = encode(i, j);
    }
    if (compression == Compression::kLz4) {
      lz4_budget =
          static_cast<size_t>(static_cast<double>(raw_size(i, j)) * static_cast<double>(max_bytes) /
                              static_cast<double>(payload.size()) * 0.95);
    }
    r.payloads.push_back(std::move(payload));
    i = j;
  }
  return r;
}

}  // namespace flowdb::export_mqtt

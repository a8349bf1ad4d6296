// The WAL batch format (engine/doc/format.md, "WAL batch"): encoding,
// framing and decoding.
#include "wal_batch.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "coding.h"
#include "compression.h"
#include "dbformat.h"

namespace flowdb {

namespace {

// Groups smaller than this are logged raw: lz4 would not pay for itself.
constexpr size_t kMinCompressBytes = 512;

}  // namespace

bool parse_log_name(const std::string& name, uint64_t* n) {
  if (name.size() < 5 || name.compare(name.size() - 4, 4, ".log") != 0) return false;
  std::string digits = name.substr(0, name.size() - 4);
  if (digits.empty() || digits.size() > 19) return false;
  if (!std::all_of(digits.begin(), digits.end(), ::isdigit)) return false;
  *n = std::stoull(digits);
  return true;
}

std::string wal_file_path(const std::string& data_dir, uint64_t number) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "/wal/%06llu.log", static_cast<unsigned long long>(number));
  return data_dir + buf;
}

std::string encode_wal_batch(uint64_t first_seq, std::span<const WalBatchPart> parts,
                             uint64_t* count) {
  std::string rec;
  put_fixed64(&rec, first_seq);
  uint64_t n = 0;
  for (const WalBatchPart& p : parts) n += p.batch ? p.batch->size() : 0;
  put_varint64(&rec, n);
  for (const WalBatchPart& p : parts) {
    if (!p.batch) continue;
    for (const auto& e : p.batch->entries()) {
      switch (e.op) {
        case WriteBatch::Op::Put: {
          rec.push_back(static_cast<char>(kWalPut));
          put_length_prefixed(&rec, e.record.key);
          put_fixed64(&rec, static_cast<uint64_t>(e.record.ts));
          int64_t exp = e.record.expire_at;
          if (p.ttl_secs) exp = saturating_expiry(e.record.ts, *p.ttl_secs);
          put_fixed64(&rec, static_cast<uint64_t>(exp));
          put_length_prefixed(&rec, e.record.value);
          break;
        }
        case WriteBatch::Op::Delete:
          rec.push_back(static_cast<char>(kWalDelete));
          put_length_prefixed(&rec, e.record.key);
          put_fixed64(&rec, static_cast<uint64_t>(e.record.ts));
          break;
        case WriteBatch::Op::DeleteRange:
          rec.push_back(static_cast<char>(kWalDeleteRange));
          put_length_prefixed(&rec, e.record.key);
          put_length_prefixed(&rec, e.end_key);
          break;
      }
    }
  }
  *count = n;
  return rec;
}

// IoT batches repeat series keys heavily, so lz4 cuts device writes (and
// flash wear) for large groups.
std::string frame_wal_record(const std::string& payload) {
  std::string framed;
  if (payload.size() >= kMinCompressBytes) {
    framed.push_back('\0');
    framed[0] = static_cast<char>(compress_block(Compression::lz4(), payload, &framed));
  } else {
    framed.reserve(payload.size() + 1);
    framed.push_back(static_cast<char>(Compression::Kind::None));
    framed.append(payload);
  }
  return framed;
}

std::string_view wal_record_payload(std::string_view record, std::string* buf,
                                    std::string_view name, uint64_t offset) {
  if (record.empty()) {
    throw Error(Errc::Corruption, std::string(name) + ": empty WAL record ending at offset " +
                                      std::to_string(offset));
  }
  if (static_cast<Compression::Kind>(record[0]) == Compression::Kind::None) {
    return record.substr(1);
  }
  uncompress_block(static_cast<uint8_t>(record[0]), record.substr(1), buf, name, offset);
  return *buf;
}

WalBatchReader::WalBatchReader(std::string_view payload) : rest_(payload) {
  if (!get_fixed64(&rest_, &first_) || !get_varint64(&rest_, &count_)) {
    throw Error(Errc::Corruption, "malformed WAL batch");
  }
}

bool WalBatchReader::next(WalEntry* e) {
  auto bad = [] { return Error(Errc::Corruption, "malformed WAL batch"); };
  if (done_ == count_) {
    if (!rest_.empty()) throw bad();
    return false;
  }
  if (rest_.empty()) throw bad();
  e->tag = static_cast<uint8_t>(rest_.front());
  e->seq = first_ + done_++;
  rest_.remove_prefix(1);
  uint64_t ts = 0, exp = 0;
  switch (e->tag) {
    case kWalPut:
      if (!get_length_prefixed(&rest_, &e->key) || !get_fixed64(&rest_, &ts) ||
          !get_fixed64(&rest_, &exp) || !get_length_prefixed(&rest_, &e->value)) {
        throw bad();
      }
      break;
    case kWalDelete:
      if (!get_length_prefixed(&rest_, &e->key) || !get_fixed64(&rest_, &ts)) throw bad();
      break;
    case kWalDeleteRange:
      if (!get_length_prefixed(&rest_, &e->key) || !get_length_prefixed(&rest_, &e->end_key)) {
        throw bad();
      }
      break;
    default:
      throw bad();
  }
  e->ts = static_cast<int64_t>(ts);
  e->expire_at = static_cast<int64_t>(exp);
  return true;
}

}  // namespace flowdb

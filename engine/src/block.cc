#include "block.h"

#include <algorithm>
#include <cassert>

#include "coding.h"
#include "crc32c.h"
#include "dbformat.h"
#include "flowdb/error.h"
#include "table.h"

namespace flowdb {

namespace {

// Writes v as a varint at p; returns the byte after it.
inline char* encode_varint32(char* p, uint32_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}

// Decodes the (shared, non_shared, value_len) header of the entry at p.
// Returns the first byte of the key delta, or null if the header or the
// bytes it announces run past `limit`.
inline const char* decode_entry(const char* p, const char* limit, uint32_t* shared,
                                uint32_t* non_shared, uint32_t* value_len) {
  if (limit - p < 3) return nullptr;
  *shared = static_cast<uint8_t>(p[0]);
  *non_shared = static_cast<uint8_t>(p[1]);
  *value_len = static_cast<uint8_t>(p[2]);
  if ((*shared | *non_shared | *value_len) < 128) {
    p += 3;  // fast path: all three varints are one byte
  } else {
    std::string_view in(p, static_cast<size_t>(limit - p));
    if (!get_varint32(&in, shared) || !get_varint32(&in, non_shared) ||
        !get_varint32(&in, value_len)) {
      return nullptr;
    }
    p = in.data();
  }
  if (uint64_t{*non_shared} + *value_len > static_cast<uint64_t>(limit - p)) return nullptr;
  return p;
}

}  // namespace

// ---------------------------------------------------------------------------
// BlockBuilder

BlockBuilder::BlockBuilder(int restart_interval)
    : restart_interval_(std::max(1, restart_interval)) {
  restarts_.push_back(0);
}

void BlockBuilder::reset() {
  buffer_.clear();
  restarts_.clear();
  restarts_.push_back(0);
  last_key_.clear();
  counter_ = 0;
  num_entries_ = 0;
  finished_ = false;
}

void BlockBuilder::add(std::string_view key, std::string_view value) {
  assert(!finished_);
  size_t shared = 0;
  if (counter_ < restart_interval_) {
    const size_t n = std::min(last_key_.size(), key.size());
    while (shared < n && last_key_[shared] == key[shared]) ++shared;
  } else {
    restarts_.push_back(static_cast<uint32_t>(buffer_.size()));
    counter_ = 0;
  }
  const size_t non_shared = key.size() - shared;
  char header[15];
  char* end = encode_varint32(header, static_cast<uint32_t>(shared));
  end = encode_varint32(end, static_cast<uint32_t>(non_shared));
  end = encode_varint32(end, static_cast<uint32_t>(value.size()));
  buffer_.append(header, static_cast<size_t>(end - header));
  buffer_.append(key.data() + shared, non_shared);
  buffer_.append(value.data(), value.size());
  last_key_.resize(shared);
  last_key_.append(key.data() + shared, non_shared);
  ++counter_;
  ++num_entries_;
}

std::string_view BlockBuilder::finish() {
  if (!finished_) {
    for (uint32_t r : restarts_) put_fixed32(&buffer_, r);
    put_fixed32(&buffer_, static_cast<uint32_t>(restarts_.size()));
    finished_ = true;
  }
  return buffer_;
}

// ---------------------------------------------------------------------------
// BlockIter

void BlockIter::corrupt(const char* what, uint64_t pos) {
  clear();
  throw Error(Errc::Corruption, std::string(name_) + ": " + what + " at offset " +
                                    std::to_string(file_offset_ + pos));
}

void BlockIter::reset(std::string_view contents, std::string_view name, uint64_t file_offset,
                      bool relative_expiry) {
  clear();
  relative_expiry_ = relative_expiry;
  name_ = name;
  file_offset_ = file_offset;
  if (contents.size() < 4 || contents.size() > UINT32_MAX) corrupt("bad block size", 0);
  const uint32_t size = static_cast<uint32_t>(contents.size());
  const uint32_t n = decode_fixed32(contents.data() + size - 4);
  if (n == 0 || n > (size - 4) / 4) corrupt("bad block restart count", size - 4);
  data_ = contents.data();
  restarts_ = size - 4 - 4 * n;
  num_restarts_ = n;
  current_ = next_ = restarts_;
}

void BlockIter::clear() {
  data_ = nullptr;
  restarts_ = num_restarts_ = current_ = next_ = 0;
  key_.clear();
  value_ = {};
  relative_expiry_ = false;
  decoded_at_ = UINT32_MAX;
}

std::string_view BlockIter::absolute_value() const {
  if (decoded_at_ != current_) {
    value_buf_.assign(value_);
    const int64_t expire_at = decode_stored_expiry(extract_ts(key_), decode_fixed64(value_.data()));
    encode_fixed64(value_buf_.data(), static_cast<uint64_t>(expire_at));
    decoded_at_ = current_;
  }
  return value_buf_;
}

uint32_t BlockIter::restart_point(uint32_t index) {
  const uint32_t pos = restarts_ + 4 * index;
  const uint32_t off = decode_fixed32(data_ + pos);
  if (off > restarts_) corrupt("bad block restart offset", pos);
  return off;
}

bool BlockIter::parse_next() {
  current_ = next_;
  if (current_ >= restarts_) {
    current_ = next_ = restarts_;
    return false;
  }
  const char* p = data_ + current_;
  uint32_t shared, non_shared, value_len;
  p = decode_entry(p, data_ + restarts_, &shared, &non_shared, &value_len);
  if (p == nullptr) corrupt("truncated block entry", current_);
  if (shared > key_.size()) corrupt("bad shared key length in block entry", current_);
  key_.resize(shared);
  key_.append(p, non_shared);
  if (key_.size() < kInternalSuffix) corrupt("short key in block entry", current_);
  value_ = std::string_view(p + non_shared, value_len);
  next_ = static_cast<uint32_t>(p + non_shared + value_len - data_);
  return true;
}

void BlockIter::seek_to_first() {
  if (data_ == nullptr) return;
  key_.clear();
  next_ = 0;
  parse_next();
}

void BlockIter::next() {
  assert(valid());
  parse_next();
}

std::string_view BlockIter::restart_key(uint32_t index) {
  const uint32_t off = restart_point(index);
  uint32_t shared, non_shared, value_len;
  const char* p = decode_entry(data_ + off, data_ + restarts_, &shared, &non_shared, &value_len);
  if (p == nullptr || shared != 0 || non_shared < kInternalSuffix) {
    corrupt("bad block entry at restart point", off);
  }
  return std::string_view(p, non_shared);
}

void BlockIter::seek(std::string_view target) {
  if (data_ == nullptr) return;
  // Binary search for the last restart point whose key is < target.
  uint32_t left = 0, right = num_restarts_ - 1;
  while (left < right) {
    const uint32_t mid = left + (right - left + 1) / 2;
    if (compare_internal_keys(restart_key(mid), target) < 0) {
      left = mid;
    } else {
      right = mid - 1;
    }
  }
  key_.clear();
  next_ = restart_point(left);
  while (parse_next()) {
    if (compare_internal_keys(key_, target) >= 0) return;
  }
}

void BlockIter::seek_for_prev(std::string_view target) {
  if (data_ == nullptr) return;
  // Binary search for the last restart point whose key is <= target.
  uint32_t left = 0, right = num_restarts_ - 1;
  while (left < right) {
    const uint32_t mid = left + (right - left + 1) / 2;
    if (compare_internal_keys(restart_key(mid), target) <= 0) {
      left = mid;
    } else {
      right = mid - 1;
    }
  }
  scan_to_last(left, &target);
}

void BlockIter::seek_to_last() {
  if (data_ == nullptr) return;
  scan_to_last(num_restarts_ - 1, nullptr);
}

void BlockIter::scan_to_last(uint32_t index, const std::string_view* target) {
  const uint32_t start = restart_point(index);
  key_.clear();
  next_ = start;
  uint32_t last = restarts_;  // offset of the last entry that qualifies
  while (parse_next()) {
    if (target != nullptr && compare_internal_keys(key_, *target) > 0) break;
    last = current_;
  }
  // Entries are prefix-compressed forwards only: replay the run from the
  // restart point up to the chosen entry (at most a restart interval).
  key_.clear();
  next_ = start;
  if (last == restarts_) {
    current_ = next_ = restarts_;
    return;
  }
  while (parse_next() && current_ != last) {
  }
}

// ---------------------------------------------------------------------------
// Trailer, handles, properties

void append_block_trailer(std::string* buf, size_t block_start, uint8_t kind) {
  const char k = static_cast<char>(kind);
  uint32_t crc = crc32c::extend(0, buf->data() + block_start, buf->size() - block_start);
  crc = crc32c::extend(crc, &k, 1);
  buf->push_back(k);
  put_fixed32(buf, crc32c::mask(crc));
}

bool block_checksum_ok(std::string_view b) {
  if (b.size() < kBlockTrailerSize) return false;
  const size_t n = b.size() - kBlockTrailerSize;
  const uint32_t crc = crc32c::extend(0, b.data(), n + 1);  // stored bytes + kind byte
  return crc32c::unmask(decode_fixed32(b.data() + n + 1)) == crc;
}

void encode_block_handle(std::string* dst, const BlockHandle& h) {
  put_fixed64(dst, h.offset);
  put_fixed64(dst, h.size);
}

bool decode_block_handle(std::string_view* in, BlockHandle* h) {
  return get_fixed64(in, &h->offset) && get_fixed64(in, &h->size);
}

void encode_table_properties(const TableProperties& p, std::string* dst) {
  put_varint32(dst, kPropertiesFormatVersion);
  put_varint64(dst, p.num_entries);
  put_varint64(dst, p.num_deletions);
  put_varint64(dst, p.num_data_blocks);
  put_varint64(dst, p.raw_bytes);
  put_varint64(dst, p.stored_bytes);
  put_length_prefixed(dst, p.smallest_user_key);
  put_length_prefixed(dst, p.largest_user_key);
  put_fixed64(dst, static_cast<uint64_t>(p.min_ts));
  put_fixed64(dst, static_cast<uint64_t>(p.max_ts));
  put_fixed64(dst, static_cast<uint64_t>(p.max_expire_at));
  put_fixed64(dst, p.min_seq);
  put_fixed64(dst, p.max_seq);
}

bool decode_table_properties(std::string_view in, TableProperties* p) {
  uint32_t version;
  std::string_view smallest, largest;
  uint64_t min_ts, max_ts, max_expire_at;
  if (!get_varint32(&in, &version) || version != kPropertiesFormatVersion ||
      !get_varint64(&in, &p->num_entries) || !get_varint64(&in, &p->num_deletions) ||
      !get_varint64(&in, &p->num_data_blocks) || !get_varint64(&in, &p->raw_bytes) ||
      !get_varint64(&in, &p->stored_bytes) || !get_length_prefixed(&in, &smallest) ||
      !get_length_prefixed(&in, &largest) || !get_fixed64(&in, &min_ts) ||
      !get_fixed64(&in, &max_ts) || !get_fixed64(&in, &max_expire_at) ||
      !get_fixed64(&in, &p->min_seq) || !get_fixed64(&in, &p->max_seq) || !in.empty()) {
    return false;
  }
  p->smallest_user_key.assign(smallest);
  p->largest_user_key.assign(largest);
  p->min_ts = static_cast<int64_t>(min_ts);
  p->max_ts = static_cast<int64_t>(max_ts);
  p->max_expire_at = static_cast<int64_t>(max_expire_at);
  return true;
}

}  // namespace flowdb

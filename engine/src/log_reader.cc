// Log reader. The interesting part is telling a torn tail from corruption:
//
//  * A crash can only damage the end of a log: the writer appends one framed
//    record per append() and never writes after a failed one. So damage with
//    no later record is the normal result of a crash (a torn or zero-filled
//    tail); reading stops after the last complete record and the caller
//    truncates the file there.
//  * Damage followed by the start of another record (a FULL or FIRST fragment
//    whose checksum validates) cannot come from a crash: acknowledged records
//    would silently vanish, so it is reported as Errc::Corruption.
//
// Only record starts count as evidence: a lone valid MIDDLE/LAST after the
// damage may be a later page of the same torn append that reached the disk
// before an earlier one (writeback order is arbitrary before fsync), which is
// still a torn tail. The search is byte by byte, not only at block starts, so
// a damaged record followed by valid ones in the same block is caught too.
//
// Repair reads with skip_damage(): what open calls corruption is skipped
// there (LevelDB's resync), while a torn tail is still told apart the same
// way.
#include <algorithm>

#include "coding.h"
#include "crc32c.h"
#include "flowdb/error.h"
#include "log.h"

namespace flowdb::log {
namespace {

struct Header {
  uint32_t masked_crc;
  size_t length;
  uint8_t type;
};

Header parse_header(const char* p) {
  return Header{decode_fixed32(p), size_t(uint8_t(p[4])) | (size_t(uint8_t(p[5])) << 8),
                static_cast<uint8_t>(p[6])};
}

bool crc_matches(const Header& h, const char* header_start) {
  // The CRC covers the type byte and the payload, which follow each other.
  return crc32c::unmask(h.masked_crc) == crc32c::extend(0, header_start + 6, 1 + h.length);
}

}  // namespace

struct Reader::Rep {
  std::unique_ptr<RandomAccessFile> file;
  std::string name;

  std::string block;         // current block (shorter than kBlockSize only at EOF)
  uint64_t block_start = 0;  // file offset of `block`
  size_t pos = 0;            // parse position within `block`
  bool loaded = false;

  uint64_t last_record_start = 0, last_record_end = 0;
  bool torn_tail = false;
  bool done = false;

  bool skip = false;  // skip_damage()
  Skipped skipped;
  bool pending = false;       // inside a skipped region
  uint64_t pending_from = 0;  // where it started

  enum class Status { kFragment, kEof, kBad };
  struct Fragment {
    uint8_t type = 0;
    std::string_view data;
    uint64_t offset = 0;  // of the header
    uint64_t end = 0;     // just past the payload
    // For kBad:
    std::string reason;
    uint64_t scan_from = 0;  // where to look for later valid fragments
  };

  void read_block_at(uint64_t offset, std::string* out) const {
    out->resize(kBlockSize);
    out->resize(file->read(offset, kBlockSize, out->data()));
  }

  void load_next_block() {
    if (loaded) block_start += kBlockSize;
    read_block_at(block_start, &block);
    pos = 0;
    loaded = true;
  }

  Status next_fragment(Fragment* f) {
    for (;;) {
      if (!loaded) load_next_block();
      const size_t remaining = block.size() - pos;
      const uint64_t offset = block_start + pos;
      if (remaining < kHeaderSize) {
        if (block.size() == kBlockSize) {  // block trailer: skip it
          load_next_block();
          continue;
        }
        if (remaining == 0) {
          f->offset = offset;
          return Status::kEof;
        }
        return bad(f, offset, "truncated fragment header at end of file", offset + remaining);
      }
      const char* p = block.data() + pos;
      const Header h = parse_header(p);
      if (h.type == kZeroType && h.length == 0 && h.masked_crc == 0) {
        return bad(f, offset, "zero-filled region", offset + 1);
      }
      if (kHeaderSize + h.length > remaining) {
        const std::string len = std::to_string(h.length);
        if (pos + kHeaderSize + h.length > kBlockSize) {
          return bad(f, offset, "fragment length " + len + " exceeds its block", offset + 1);
        }
        return bad(f, offset, "fragment of " + len + " bytes extends past end of file", offset + 1);
      }
      if (!crc_matches(h, p)) return bad(f, offset, "checksum mismatch", offset + 1);
      if (h.type < kFull || h.type > kLast) {
        // Checksummed, so written like this: not a torn write but an unknown
        // format. Never guess; refuse (skip mode: skip it with its block).
        const std::string why = "unknown fragment type " + std::to_string(h.type);
        if (skip) return bad(f, offset, why, offset + kHeaderSize + h.length);
        corruption(offset, why);
      }
      f->type = h.type;
      f->data = std::string_view(p + kHeaderSize, h.length);
      f->offset = offset;
      f->end = offset + kHeaderSize + h.length;
      pos += kHeaderSize + h.length;
      return Status::kFragment;
    }
  }

  static Status bad(Fragment* f, uint64_t offset, std::string reason, uint64_t scan_from) {
    f->offset = offset;
    f->reason = std::move(reason);
    f->scan_from = scan_from;
    return Status::kBad;
  }

  // True if a FULL or FIRST fragment with a valid checksum starts at or after
  // `from`. Candidates must fit in their block, as the writer guarantees.
  bool record_start_after(uint64_t from) const {
    uint64_t start = from / kBlockSize * kBlockSize;
    size_t r = static_cast<size_t>(from % kBlockSize);
    std::string buf;
    for (;;) {
      read_block_at(start, &buf);
      for (; r + kHeaderSize <= buf.size(); ++r) {
        const uint8_t type = static_cast<uint8_t>(buf[r + 6]);
        if (type != kFull && type != kFirst) continue;  // cheap filter first
        const Header h = parse_header(buf.data() + r);
        if (r + kHeaderSize + h.length > buf.size()) continue;
        if (crc_matches(h, buf.data() + r)) return true;
      }
      if (buf.size() < kBlockSize) return false;  // that was the last block
      start += kBlockSize;
      r = 0;
    }
  }

  [[noreturn]] void corruption(uint64_t offset, const std::string& reason) {
    done = true;  // the reader must not be used past an error
    throw Error(Errc::Corruption,
                name + ": corrupt log record at offset " + std::to_string(offset) + ": " + reason);
  }

  // Damage at `offset`. If no record starts after it (at or past
  // `scan_from`) it is a torn tail: reading stops (false). Otherwise it is
  // corruption, or in skip mode a skipped region: reading goes on (true) at
  // the next fragment, or at the next block if `drop_block` (the damaged
  // fragment's length cannot be trusted, as in LevelDB).
  bool damage(uint64_t offset, const std::string& reason, uint64_t scan_from,
              bool drop_block = false) {
    if (!record_start_after(scan_from)) {
      end_skip(offset);
      done = true;
      torn_tail = true;
      return false;
    }
    if (!skip) corruption(offset, reason);
    begin_skip(offset, reason);
    if (drop_block) pos = block.size();  // next_fragment moves on to the next block
    return true;
  }

  // Skip mode: a damaged region starts (if one is not already open) at the
  // end of the last valid record; end_skip() closes it where valid data
  // resumes.
  void begin_skip(uint64_t offset, const std::string& reason) {
    if (skipped.first_reason.empty()) {
      skipped.first_offset = offset;
      skipped.first_reason = reason;
    }
    if (!pending) pending_from = last_record_end;
    pending = true;
  }
  void end_skip(uint64_t at) {
    if (!pending) return;
    pending = false;
    skipped.bytes += at - pending_from;
    ++skipped.regions;
  }
};

Reader::Reader(std::unique_ptr<RandomAccessFile> file, std::string name, uint64_t initial_offset)
    : rep_(std::make_unique<Rep>()) {
  rep_->file = std::move(file);
  rep_->name = std::move(name);
  if (initial_offset > 0) {
    Rep& r = *rep_;
    r.block_start = initial_offset / kBlockSize * kBlockSize;
    r.read_block_at(r.block_start, &r.block);
    r.loaded = true;
    r.pos = static_cast<size_t>(initial_offset - r.block_start);
    if (r.pos > r.block.size()) r.pos = r.block.size();  // file shrank: reads as EOF
    r.last_record_end = initial_offset;
  }
}

Reader::~Reader() = default;

void Reader::skip_damage() { rep_->skip = true; }

const Reader::Skipped& Reader::skipped() const { return rep_->skipped; }

bool Reader::read_record(std::string* scratch, std::string_view* record) {
  Rep& r = *rep_;
  if (r.done) return false;
  scratch->clear();
  bool in_record = false;  // inside a FIRST..LAST sequence
  uint64_t record_start = 0;
  Rep::Fragment f;
  // Drops the record being assembled (skip mode) at a fragment that cannot
  // continue it; `f` is then read as the start of a new record.
  auto drop_partial = [&](const char* reason) {
    r.begin_skip(record_start, reason);
    in_record = false;
  };
  for (;;) {
    switch (r.next_fragment(&f)) {
      case Rep::Status::kEof:
        if (in_record) {
          return r.damage(record_start, "record truncated at end of file (FIRST without LAST)",
                          f.offset);
        }
        r.done = true;
        // Bytes past the last record (e.g. only a block trailer) mean the
        // last append was cut short, unless they end a skipped region.
        r.torn_tail = !r.pending && f.offset > r.last_record_end;
        r.end_skip(f.offset);
        return false;
      case Rep::Status::kBad:
        if (!r.damage(f.offset, f.reason, f.scan_from, /*drop_block=*/true)) return false;
        in_record = false;
        continue;
      case Rep::Status::kFragment:
        break;
    }
    switch (f.type) {
      case kFull:
      case kFirst:
        if (in_record) {
          const char* reason = f.type == kFull ? "FIRST fragment without LAST, followed by a FULL"
                                               : "FIRST fragment without LAST, followed by a FIRST";
          if (!r.skip) return r.damage(record_start, reason, f.offset);
          drop_partial(reason);
        }
        if (f.type == kFull) {
          r.end_skip(f.offset);
          *record = f.data;
          r.last_record_start = f.offset;
          r.last_record_end = f.end;
          return true;
        }
        in_record = true;
        record_start = f.offset;
        scratch->assign(f.data);
        break;
      case kMiddle:
      case kLast:
        if (!in_record) {
          const char* reason =
              f.type == kMiddle ? "MIDDLE fragment without FIRST" : "LAST fragment without FIRST";
          if (!r.damage(f.offset, reason, f.end, /*drop_block=*/false)) return false;
          continue;  // skip mode: drop this fragment
        }
        scratch->append(f.data);
        if (f.type == kMiddle) break;
        r.end_skip(record_start);
        *record = *scratch;
        r.last_record_start = record_start;
        r.last_record_end = f.end;
        return true;
    }
  }
}

uint64_t Reader::last_record_end() const { return rep_->last_record_end; }

uint64_t Reader::last_record_start() const { return rep_->last_record_start; }

bool Reader::hit_torn_tail() const { return rep_->torn_tail; }

}  // namespace flowdb::log

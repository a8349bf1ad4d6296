// Table: opens an SST (footer, index, filter, properties, all verified) and
// iterates it with a two-level iterator: an in-memory decoded index picks
// data blocks, which come from the BlockCache or the file.
#include <algorithm>
#include <cassert>

#include "block.h"
#include "block_cache.h"
#include "bloom.h"
#include "coding.h"
#include "compression.h"
#include "dbformat.h"
#include "flowdb/error.h"
#include "table.h"

namespace flowdb {

namespace {

// One data block as described by its index entry.
struct IndexEntry {
  uint32_t key_offset;  // last internal key of the block, in TableData::index_keys
  uint32_t key_size;
  uint64_t offset;  // handle of the stored block (size excludes the trailer)
  uint64_t size;
  int64_t min_ts;  // ts range of the block's entries
  int64_t max_ts;
};

// Everything an open table holds in memory. Immutable after open, so shared
// freely between threads.
struct TableData {
  std::unique_ptr<RandomAccessFile> file;
  uint64_t file_size = 0;
  uint64_t cache_id = 0;
  std::string name;
  uint32_t format_version = 0;  // from the footer
  BlockCache* cache = nullptr;
  ReadCounters* counters = nullptr;
  ReadCounters own_counters;  // used when the caller passes none
  TableProperties props;
  std::string filter;      // empty = no filter
  std::string index_keys;  // concatenated last keys of the data blocks
  std::vector<IndexEntry> index;

  std::string_view key_of(size_t i) const {
    return std::string_view(index_keys).substr(index[i].key_offset, index[i].key_size);
  }

  [[noreturn]] void corrupt(std::string_view what, uint64_t offset) const {
    throw Error(Errc::Corruption,
                name + ": " + std::string(what) + " at offset " + std::to_string(offset));
  }

  // Reads the stored bytes and trailer of a block into buf[0, size + trailer)
  // and returns the stored bytes (checksum verified if `verify`).
  std::string_view read_stored_into(uint64_t offset, uint64_t size, bool verify, char* buf,
                                    uint8_t* kind) const {
    const size_t n = static_cast<size_t>(size) + kBlockTrailerSize;
    if (file->read(offset, n, buf) != n) corrupt("truncated block", offset);
    if (verify && !block_checksum_ok(std::string_view(buf, n))) {
      corrupt("block checksum mismatch", offset);
    }
    *kind = static_cast<uint8_t>(buf[size]);
    return std::string_view(buf, size);
  }

  // The same into *buf (grown, never shrunk, to avoid refilling it).
  std::string_view read_stored(uint64_t offset, uint64_t size, bool verify, std::string* buf,
                               uint8_t* kind) const {
    const size_t n = static_cast<size_t>(size) + kBlockTrailerSize;
    if (buf->size() < n) buf->resize(n);
    return read_stored_into(offset, size, verify, buf->data(), kind);
  }

  // Reads, always verifies and uncompresses a metadata block.
  std::string read_meta_block(const BlockHandle& h) const {
    std::string buf, out;
    uint8_t kind;
    const std::string_view stored = read_stored(h.offset, h.size, true, &buf, &kind);
    if (kind == static_cast<uint8_t>(Compression::Kind::None)) {
      buf.resize(h.size);
      return buf;
    }
    uncompress_block(kind, stored, &out, name, h.offset);
    return out;
  }

  void check_handle(const BlockHandle& h, uint64_t limit, const char* what) const {
    if (h.offset > limit || h.size > limit - h.offset ||
        (h.size > 0 && kBlockTrailerSize > limit - h.offset - h.size)) {
      corrupt(std::string("bad ") + what + " handle in footer", limit);
    }
  }

  void load_index(std::string_view contents, uint64_t block_offset, uint64_t data_end);
};

void TableData::load_index(std::string_view contents, uint64_t block_offset, uint64_t data_end) {
  BlockIter it;
  it.reset(contents, name, block_offset);
  uint64_t expected = 0;  // data blocks are contiguous from offset 0
  for (it.seek_to_first(); it.valid(); it.next()) {
    std::string_view v = it.value();
    IndexEntry e;
    uint64_t min_ts, max_ts;
    if (!get_varint64(&v, &e.offset) || !get_varint64(&v, &e.size) || !get_fixed64(&v, &min_ts) ||
        !get_fixed64(&v, &max_ts) || !v.empty()) {
      corrupt("bad index entry", block_offset);
    }
    e.min_ts = static_cast<int64_t>(min_ts);
    e.max_ts = static_cast<int64_t>(max_ts);
    if (e.offset != expected || e.size > data_end - e.offset ||
        data_end - e.offset - e.size < kBlockTrailerSize || e.min_ts > e.max_ts) {
      corrupt("bad data block handle in index", block_offset);
    }
    expected = e.offset + e.size + kBlockTrailerSize;
    if (!index.empty() && compare_internal_keys(key_of(index.size() - 1), it.key()) >= 0) {
      corrupt("index keys out of order", block_offset);
    }
    if (index_keys.size() + it.key().size() > UINT32_MAX) corrupt("index too large", block_offset);
    e.key_offset = static_cast<uint32_t>(index_keys.size());
    e.key_size = static_cast<uint32_t>(it.key().size());
    index_keys.append(it.key());
    index.push_back(e);
  }
  if (expected != data_end) corrupt("index does not cover the data blocks", block_offset);
  index_keys.shrink_to_fit();
  index.shrink_to_fit();
}

// Two-level iterator. Holds the table alive; reuses its read buffers so that
// steady-state iteration does not allocate (except for blocks it caches).
// Not thread-safe (one iterator per thread).
class TwoLevelIterator final : public TableIterator {
 public:
  TwoLevelIterator(std::shared_ptr<const Table> owner, const TableData* t, const ReadOptions& o,
                   int64_t ts_min, int64_t ts_max)
      : owner_(std::move(owner)),
        t_(t),
        fill_cache_(o.fill_cache && t->cache != nullptr),
        verify_(o.verify_checksums),
        ts_min_(ts_min),
        ts_max_(ts_max) {}

  bool valid() const override { return block_.valid(); }

  void seek_to_first() override {
    guarded([&] { advance_from(0); });
  }

  void seek(std::string_view target) override {
    guarded([&] {
      size_t lo = block_for(target);
      if (lo < t_->index.size() && overlaps(lo)) {
        load(lo);
        block_.seek(target);
        if (block_.valid()) return;
        ++lo;
      }
      advance_from(lo);
    });
  }

  void seek_for_prev(std::string_view target) override {
    guarded([&] {
      const size_t i = block_for(target);
      if (i < t_->index.size() && overlaps(i)) {
        load(i);
        block_.seek_for_prev(target);
        if (block_.valid()) return;
      }
      // Every entry of the blocks before i is < target (a block's index key
      // is its last key): the answer is the last entry of the nearest one.
      for (size_t j = i; j-- > 0;) {
        if (!overlaps(j)) continue;
        load(j);
        block_.seek_to_last();
        if (block_.valid()) return;
      }
      detach();
    });
  }

  void next() override {
    assert(valid());
    guarded([&] {
      block_.next();
      if (!block_.valid()) advance_from(loaded_ + 1);
    });
  }

  std::string_view key() const override { return block_.key(); }
  std::string_view value() const override { return block_.value(); }

 private:
  static constexpr size_t kNone = SIZE_MAX;

  // Leaves the iterator invalid (and forgets the loaded block) if f throws.
  template <typename F>
  void guarded(F&& f) {
    try {
      f();
    } catch (...) {
      detach();
      throw;
    }
  }

  void detach() {
    block_.clear();
    loaded_ = kNone;
    pinned_ = {};
  }

  // The first block whose last key >= target: the only one that can hold
  // the first entry >= target, or index.size() if there is none.
  size_t block_for(std::string_view target) const {
    size_t lo = 0, hi = t_->index.size();
    while (lo < hi) {
      const size_t mid = lo + (hi - lo) / 2;
      if (compare_internal_keys(t_->key_of(mid), target) < 0) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }

  bool overlaps(size_t i) const {
    const IndexEntry& e = t_->index[i];
    return e.min_ts <= ts_max_ && e.max_ts >= ts_min_;
  }

  // Positions at the first entry of the first overlapping block >= i.
  void advance_from(size_t i) {
    for (; i < t_->index.size(); ++i) {
      if (!overlaps(i)) continue;
      load(i);
      block_.seek_to_first();
      if (block_.valid()) return;
    }
    detach();
  }

  void load(size_t i) {
    if (i == loaded_) return;
    detach();
    const IndexEntry& e = t_->index[i];
    ReadCounters& c = *t_->counters;
    c.blocks_read.fetch_add(1, std::memory_order_relaxed);
    std::string_view contents;
    bool insert = false;
    if (t_->cache != nullptr) {
      pinned_ = t_->cache->lookup(t_->cache_id, e.offset);
      (pinned_ ? c.cache_hits : c.cache_misses).fetch_add(1, std::memory_order_relaxed);
    }
    if (pinned_) {
      contents = pinned_.view();
    } else {
      c.blocks_from_disk.fetch_add(1, std::memory_order_relaxed);
      uint8_t kind;
      if (fill_cache_) {
        // Cached blocks are trusted by later readers, so they are always
        // verified. The stored bytes only live until they are decompressed
        // into the new block, so a per-thread buffer holds them; the block
        // itself is allocated once, at its final size, and not zero-filled.
        thread_local std::string stored_buf;
        const std::string_view stored = t_->read_stored(e.offset, e.size, true, &stored_buf, &kind);
        const size_t len = uncompressed_size(kind, stored, t_->name, e.offset);
        char* bytes;
        pinned_ = BlockContents::allocate(len, &bytes);
        uncompress_into(kind, stored, bytes, len, t_->name, e.offset);
        contents = pinned_.view();
        insert = true;
      } else {
        const std::string_view stored =
            t_->read_stored(e.offset, e.size, verify_, &read_buf_, &kind);
        if (kind == static_cast<uint8_t>(Compression::Kind::None)) {
          contents = stored;
        } else {
          uncompress_block(kind, stored, &uncompressed_buf_, t_->name, e.offset);
          contents = uncompressed_buf_;
        }
      }
    }
    block_.reset(contents, t_->name, e.offset, t_->format_version >= 2);
    if (insert) t_->cache->insert(t_->cache_id, e.offset, pinned_);
    loaded_ = i;
  }

  std::shared_ptr<const Table> owner_;  // keeps *t_ alive
  const TableData* t_;
  const bool fill_cache_;
  const bool verify_;
  const int64_t ts_min_, ts_max_;
  BlockIter block_;
  size_t loaded_ = kNone;  // index of the block block_ reads
  BlockContents pinned_;   // cached contents of that block
  std::string read_buf_;
  std::string uncompressed_buf_;
};

}  // namespace

struct Table::Rep {
  TableData d;
  std::weak_ptr<const Table> self;
};

Table::Table(std::unique_ptr<Rep> rep) : rep_(std::move(rep)) {}
Table::~Table() = default;

std::shared_ptr<Table> Table::open(std::unique_ptr<RandomAccessFile> file, uint64_t file_size,
                                   uint64_t cache_id, std::string name, BlockCache* cache,
                                   ReadCounters* counters) {
  auto rep = std::make_unique<Rep>();
  TableData& d = rep->d;
  d.file = std::move(file);
  d.file_size = file_size;
  d.cache_id = cache_id;
  d.name = std::move(name);
  d.cache = cache;
  d.counters = counters != nullptr ? counters : &d.own_counters;

  if (file_size < kFooterSize) d.corrupt("file too short for a table footer", 0);
  const uint64_t footer_off = file_size - kFooterSize;
  char footer[kFooterSize];
  if (d.file->read(footer_off, kFooterSize, footer) != kFooterSize) {
    d.corrupt("truncated footer", footer_off);
  }
  std::string_view in(footer, kFooterSize);
  BlockHandle fh, ph, ih;
  uint32_t version = 0;
  uint64_t magic = 0;
  decode_block_handle(&in, &fh);
  decode_block_handle(&in, &ph);
  decode_block_handle(&in, &ih);
  get_fixed32(&in, &version);
  get_fixed64(&in, &magic);
  if (magic != kTableMagic) d.corrupt("bad table magic", footer_off + 52);
  if (version < kOldestTableFormatVersion || version > kTableFormatVersion)
    d.corrupt("unsupported table format version", footer_off + 48);
  d.format_version = version;
  d.check_handle(fh, footer_off, "filter");
  d.check_handle(ph, footer_off, "properties");
  d.check_handle(ih, footer_off, "index");
  // The layout is fixed: data | [filter] | properties | index | footer.
  const uint64_t data_end = fh.offset;
  if (ih.offset + ih.size + kBlockTrailerSize != footer_off ||
      ph.offset + ph.size + kBlockTrailerSize != ih.offset ||
      (fh.size == 0 ? fh.offset != ph.offset
                    : fh.offset + fh.size + kBlockTrailerSize != ph.offset)) {
    d.corrupt("inconsistent block handles in footer", footer_off);
  }

  const std::string index_block = d.read_meta_block(ih);
  d.load_index(index_block, ih.offset, data_end);
  if (!decode_table_properties(d.read_meta_block(ph), &d.props)) {
    d.corrupt("bad properties block", ph.offset);
  }
  if (d.props.num_data_blocks != d.index.size()) {
    d.corrupt("properties disagree with index on the block count", ph.offset);
  }
  if (fh.size > 0) d.filter = d.read_meta_block(fh);

  std::shared_ptr<Table> table(new Table(std::move(rep)));
  table->rep_->self = table;
  return table;
}

const TableProperties& Table::properties() const { return rep_->d.props; }

bool Table::may_contain(std::string_view user_key) const {
  return rep_->d.filter.empty() || bloom_may_match(rep_->d.filter, user_key);
}

std::unique_ptr<TableIterator> Table::new_iterator(const ReadOptions& opts, int64_t ts_min,
                                                   int64_t ts_max) const {
  return std::make_unique<TwoLevelIterator>(rep_->self.lock(), &rep_->d, opts, ts_min, ts_max);
}

size_t Table::memory_usage() const {
  const TableData& d = rep_->d;
  return d.index_keys.capacity() + d.index.capacity() * sizeof(IndexEntry) + d.filter.capacity();
}

uint64_t Table::num_blocks() const { return rep_->d.index.size(); }

uint64_t Table::verify_all_blocks() const {
  const TableData& d = rep_->d;
  std::string buf, contents, prev_key;
  BlockIter it;
  uint64_t checked = 0;
  for (size_t i = 0; i < d.index.size(); ++i) {
    const IndexEntry& e = d.index[i];
    uint8_t kind;
    const std::string_view stored = d.read_stored(e.offset, e.size, true, &buf, &kind);
    uncompress_block(kind, stored, &contents, d.name, e.offset);
    it.reset(contents, d.name, e.offset, d.format_version >= 2);
    // Beyond the checksum, check what readers rely on: order, ts range, values.
    for (it.seek_to_first(); it.valid(); it.next()) {
      const int64_t ts = extract_ts(it.key());
      if (!prev_key.empty() && compare_internal_keys(prev_key, it.key()) >= 0) {
        d.corrupt("data block keys out of order", e.offset);
      }
      if (ts < e.min_ts || ts > e.max_ts || it.value().size() < 8) {
        d.corrupt("data block entry disagrees with index", e.offset);
      }
      prev_key.assign(it.key());
    }
    if (prev_key != d.key_of(i)) d.corrupt("data block last key disagrees with index", e.offset);
    ++checked;
  }
  return checked;
}

}  // namespace flowdb

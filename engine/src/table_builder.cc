// TableBuilder: streams data blocks to the file, then writes the filter,
// properties and index blocks and the footer (engine/doc/format_sst.md).
#include <algorithm>

#include "block.h"
#include "bloom.h"
#include "coding.h"
#include "compression.h"
#include "dbformat.h"
#include "flowdb/error.h"
#include "table.h"

namespace flowdb {

namespace {
// Stored blocks are batched into writes of about this size: WritableFile has
// no user-space buffer, so every append is a system call.
constexpr size_t kWriteBufferSize = 256 * 1024;
}  // namespace

struct TableBuilder::Rep {
  Rep(const TableOptions& o, WritableFile* f)
      : options(o), file(f), filter(o.bloom_bits_per_key == 0 ? 1 : o.bloom_bits_per_key) {
    options.block_size = std::max<size_t>(options.block_size, 1);
    if (o.format_version < kOldestTableFormatVersion || o.format_version > kTableFormatVersion) {
      throw Error(Errc::InvalidArgument,
                  "TableBuilder: unknown table format version " + std::to_string(o.format_version));
    }
  }

  TableOptions options;
  WritableFile* file;
  BlockBuilder data_block;
  BlockBuilder index_block;
  BloomFilterBuilder filter;
  TableProperties props;
  std::string last_key;      // last internal key added (order check, dedupe)
  std::string out;           // stored blocks not yet appended to the file
  std::string handle_buf;    // scratch for index entry values
  std::string value_buf;     // scratch for a format-2 entry value
  uint64_t offset = 0;       // logical file size (written + buffered)
  int64_t block_min_ts = 0;  // ts range of the entries of data_block
  int64_t block_max_ts = 0;
  bool finished = false;

  // Compresses, checksums and buffers `raw` as the next block; returns its handle.
  BlockHandle write_block(std::string_view raw, const Compression& c) {
    const size_t start = out.size();
    const Compression::Kind kind = compress_block(c, raw, &out);
    BlockHandle h{offset, out.size() - start};
    append_block_trailer(&out, start, static_cast<uint8_t>(kind));
    offset += out.size() - start;
    if (out.size() >= kWriteBufferSize) flush_out();
    return h;
  }

  void flush_out() {
    if (out.empty()) return;
    file->append(out);
    out.clear();
  }

  void flush_data_block() {
    if (data_block.empty()) return;
    const std::string_view raw = data_block.finish();
    const BlockHandle h = write_block(raw, options.compression);
    props.num_data_blocks++;
    props.raw_bytes += raw.size();
    props.stored_bytes += h.size;
    handle_buf.clear();
    put_varint64(&handle_buf, h.offset);
    put_varint64(&handle_buf, h.size);
    put_fixed64(&handle_buf, static_cast<uint64_t>(block_min_ts));
    put_fixed64(&handle_buf, static_cast<uint64_t>(block_max_ts));
    index_block.add(data_block.last_key(), handle_buf);
    data_block.reset();
  }
};

TableBuilder::TableBuilder(const TableOptions& options, WritableFile* file)
    : rep_(std::make_unique<Rep>(options, file)) {}

TableBuilder::~TableBuilder() = default;

void TableBuilder::add(std::string_view ikey, std::string_view value) {
  Rep& r = *rep_;
  if (r.finished) throw Error(Errc::InvalidArgument, "TableBuilder::add after finish");
  ParsedInternalKey pk;
  if (!parse_internal_key(ikey, &pk)) {
    throw Error(Errc::InvalidArgument, "TableBuilder::add: malformed internal key");
  }
  if (value.size() < 8) {
    throw Error(Errc::InvalidArgument, "TableBuilder::add: entry value shorter than 8 bytes");
  }
  TableProperties& p = r.props;
  const bool first = p.num_entries == 0;
  if (!first) {
    if (compare_internal_keys(r.last_key, ikey) >= 0) {
      throw Error(Errc::InvalidArgument, "TableBuilder::add: keys out of order");
    }
  }
  const bool new_user_key = first || extract_user_key(r.last_key) != pk.user_key;
  if (new_user_key) {
    if (r.options.bloom_bits_per_key > 0) r.filter.add_key(pk.user_key);
    if (first) p.smallest_user_key.assign(pk.user_key);
  }

  p.num_entries++;
  if (pk.type == ValueType::Deletion) {
    p.num_deletions++;
  } else {
    p.max_expire_at = std::max(p.max_expire_at, entry_expire_at(value));
  }
  p.min_ts = std::min(p.min_ts, pk.ts);
  p.max_ts = std::max(p.max_ts, pk.ts);
  p.min_seq = std::min(p.min_seq, pk.seq);
  p.max_seq = std::max(p.max_seq, pk.seq);

  if (r.data_block.empty()) {
    r.block_min_ts = r.block_max_ts = pk.ts;
  } else {
    r.block_min_ts = std::min(r.block_min_ts, pk.ts);
    r.block_max_ts = std::max(r.block_max_ts, pk.ts);
  }
  if (r.options.format_version >= 2) {
    r.value_buf.assign(value);
    encode_fixed64(r.value_buf.data(), encode_stored_expiry(pk.ts, entry_expire_at(value)));
    value = r.value_buf;
  }
  r.data_block.add(ikey, value);
  r.last_key.assign(ikey);
  if (r.data_block.size_estimate() >= r.options.block_size) r.flush_data_block();
}

void TableBuilder::finish() {
  Rep& r = *rep_;
  if (r.finished) return;
  r.flush_data_block();
  if (r.props.num_entries > 0) r.props.largest_user_key.assign(extract_user_key(r.last_key));

  // Metadata blocks are never compressed: they are read once at open.
  const Compression none = Compression::none();
  std::string buf;
  BlockHandle filter_handle{r.offset, 0};
  if (r.options.bloom_bits_per_key > 0) {
    r.filter.finish(&buf);
    filter_handle = r.write_block(buf, none);
  }
  buf.clear();
  encode_table_properties(r.props, &buf);
  const BlockHandle props_handle = r.write_block(buf, none);
  const BlockHandle index_handle = r.write_block(r.index_block.finish(), none);

  std::string& out = r.out;
  encode_block_handle(&out, filter_handle);
  encode_block_handle(&out, props_handle);
  encode_block_handle(&out, index_handle);
  put_fixed32(&out, r.options.format_version);
  put_fixed64(&out, kTableMagic);
  r.offset += kFooterSize;
  r.flush_out();
  r.finished = true;
}

uint64_t TableBuilder::num_entries() const { return rep_->props.num_entries; }

uint64_t TableBuilder::file_size() const { return rep_->offset; }

const TableProperties& TableBuilder::properties() const { return rep_->props; }

}  // namespace flowdb

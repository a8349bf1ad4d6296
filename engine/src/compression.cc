#include "compression.h"

#include <lz4.h>
#ifdef FLOWDB_HAVE_ZSTD
#include <zstd.h>
#endif

#include <algorithm>
#include <cstring>
#include <memory>

#include "coding.h"
#include "flowdb/error.h"

namespace flowdb {

namespace {

#ifdef FLOWDB_HAVE_ZSTD
struct CctxFree {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct DctxFree {
  void operator()(ZSTD_DCtx* c) const { ZSTD_freeDCtx(c); }
};

// Contexts are expensive to create (hundreds of KiB), so each thread keeps one.
ZSTD_CCtx* thread_cctx() {
  thread_local std::unique_ptr<ZSTD_CCtx, CctxFree> ctx(ZSTD_createCCtx());
  if (!ctx) throw std::bad_alloc();
  return ctx.get();
}
ZSTD_DCtx* thread_dctx() {
  thread_local std::unique_ptr<ZSTD_DCtx, DctxFree> ctx(ZSTD_createDCtx());
  if (!ctx) throw std::bad_alloc();
  return ctx.get();
}
#endif  // FLOWDB_HAVE_ZSTD

[[noreturn]] void corrupt(std::string_view name, const char* what, uint64_t offset) {
  throw Error(Errc::Corruption,
              std::string(name) + ": " + what + " at offset " + std::to_string(offset));
}

// LZ4's format cannot expand more than ~255x; anything larger is damage.
constexpr uint64_t kMaxLz4Ratio = 255;

}  // namespace

Compression::Kind compress_block(const Compression& c, std::string_view raw, std::string* dst) {
  const size_t start = dst->size();
  // Worth storing compressed only if it saves >= 12.5% (incl. the header).
  const size_t max_stored = raw.size() - raw.size() / 8;
  if (c.kind() != Compression::Kind::None && raw.size() <= LZ4_MAX_INPUT_SIZE && !raw.empty()) {
    put_varint32(dst, static_cast<uint32_t>(raw.size()));
    const size_t body = dst->size();
    size_t n = 0;
    if (c.kind() == Compression::Kind::Lz4) {
      const int bound = LZ4_compressBound(static_cast<int>(raw.size()));
      dst->resize(body + static_cast<size_t>(bound));
      const int r =
          LZ4_compress_default(raw.data(), dst->data() + body, static_cast<int>(raw.size()), bound);
      n = r > 0 ? static_cast<size_t>(r) : 0;
    } else if (c.kind() == Compression::Kind::Zstd) {
#ifndef FLOWDB_HAVE_ZSTD
      throw Error(Errc::InvalidArgument,
                  "this FlowDB was built without zstd (FLOWDB_WITH_ZSTD=OFF)");
#else
      const size_t bound = ZSTD_compressBound(raw.size());
      dst->resize(body + bound);
      const int level = std::clamp(c.level() == 0 ? 3 : c.level(), 1, ZSTD_maxCLevel());
      const size_t r = ZSTD_compressCCtx(thread_cctx(), dst->data() + body, bound, raw.data(),
                                         raw.size(), level);
      n = ZSTD_isError(r) ? 0 : r;
#endif
    }
    if (n > 0 && body - start + n <= max_stored) {
      dst->resize(body + n);
      return c.kind();
    }
    dst->resize(start);
  }
  dst->append(raw);
  return Compression::Kind::None;
}

size_t uncompressed_size(uint8_t kind, std::string_view stored, std::string_view name,
                         uint64_t offset) {
  if (kind == static_cast<uint8_t>(Compression::Kind::None)) return stored.size();
  uint32_t len;
  std::string_view in = stored;
  if (!get_varint32(&in, &len)) corrupt(name, "bad compressed block header", offset);
  if (kind == static_cast<uint8_t>(Compression::Kind::Lz4)) {
    if (in.size() > static_cast<size_t>(LZ4_MAX_INPUT_SIZE) ||
        len > in.size() * kMaxLz4Ratio + 64 || len > LZ4_MAX_INPUT_SIZE) {
      corrupt(name, "bad lz4 block length", offset);
    }
  } else if (kind == static_cast<uint8_t>(Compression::Kind::Zstd)) {
#ifndef FLOWDB_HAVE_ZSTD
    corrupt(name, "zstd block, but this FlowDB was built without zstd", offset);
#else
    // The frame records its content size; it must agree with our header
    // before we allocate, so a damaged length cannot demand huge buffers.
    const unsigned long long fcs = ZSTD_getFrameContentSize(in.data(), in.size());
    if (fcs != len) corrupt(name, "bad zstd block length", offset);
#endif
  } else {
    corrupt(name, "unknown block compression kind", offset);
  }
  return len;
}

void uncompress_into(uint8_t kind, std::string_view stored, char* dst, size_t size,
                     std::string_view name, uint64_t offset) {
  if (kind == static_cast<uint8_t>(Compression::Kind::None)) {
    if (size != stored.size()) corrupt(name, "bad block length", offset);
    if (size > 0) std::memcpy(dst, stored.data(), size);
    return;
  }
  uint32_t len;
  std::string_view in = stored;
  if (!get_varint32(&in, &len) || len != size) corrupt(name, "bad compressed block header", offset);
  if (kind == static_cast<uint8_t>(Compression::Kind::Lz4)) {
    const int r =
        LZ4_decompress_safe(in.data(), dst, static_cast<int>(in.size()), static_cast<int>(len));
    if (r < 0 || static_cast<uint32_t>(r) != len) corrupt(name, "bad lz4 block data", offset);
  } else if (kind == static_cast<uint8_t>(Compression::Kind::Zstd)) {
#ifndef FLOWDB_HAVE_ZSTD
    corrupt(name, "zstd block, but this FlowDB was built without zstd", offset);
#else
    const size_t r = ZSTD_decompressDCtx(thread_dctx(), dst, len, in.data(), in.size());
    if (ZSTD_isError(r) || r != len) corrupt(name, "bad zstd block data", offset);
#endif
  } else {
    corrupt(name, "unknown block compression kind", offset);
  }
}

void uncompress_block(uint8_t kind, std::string_view stored, std::string* dst,
                      std::string_view name, uint64_t offset) {
  if (kind == static_cast<uint8_t>(Compression::Kind::None)) {
    dst->assign(stored);
    return;
  }
  const size_t len = uncompressed_size(kind, stored, name, offset);
  // Shrinking or reusing a buffer that is already large enough writes
  // nothing; only growth zero-fills (the new tail), which LZ4 then overwrites.
  dst->resize(len);
  uncompress_into(kind, stored, dst->data(), len, name, offset);
}

}  // namespace flowdb

#include "gzip_body.h"

#include <zlib.h>

#include <algorithm>

namespace flowdb::ingest_http {

GunzipStatus gunzip(std::string_view in, size_t max_out, std::string* out, std::string* error) {
  out->clear();
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) {
    *error = "zlib: inflateInit2 failed";
    return GunzipStatus::kCorrupt;
  }
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());  // bodies are bounded far below 4 GiB
  char buf[65536];
  GunzipStatus status = GunzipStatus::kOk;
  for (;;) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof(buf);
    const int rc = inflate(&z, Z_NO_FLUSH);
    const size_t got = sizeof(buf) - z.avail_out;
    if (out->size() + got > max_out) {
      out->append(buf, std::min(got, max_out - out->size()));
      status = GunzipStatus::kTooLarge;
      break;
    }
    out->append(buf, got);
    if (rc == Z_STREAM_END) {
      if (z.avail_in == 0) break;
      inflateReset(&z);  // another gzip member follows
      continue;
    }
    if (rc == Z_OK) continue;
    if (rc == Z_BUF_ERROR && got > 0) continue;
    *error = rc == Z_BUF_ERROR ? "truncated gzip stream"
                               : std::string("bad gzip data: ") + (z.msg ? z.msg : "zlib error");
    status = GunzipStatus::kCorrupt;
    break;
  }
  inflateEnd(&z);
  return status;
}

}  // namespace flowdb::ingest_http

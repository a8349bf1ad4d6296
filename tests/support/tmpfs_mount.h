// A tmpfs mounted by a test (ENOSPC tests), and a file that fills it.
// Header-only; tests only. mount(2) needs root: check ok() and skip.
#pragma once

#include <sys/mount.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace flowdb::testing {

// Mounts a tmpfs of `size` (e.g. "4m") on `dir`; unmounts in every path.
class TmpfsMount {
 public:
  TmpfsMount(const std::string& dir, const std::string& size) : dir_(dir) {
    ok_ = ::mount("tmpfs", dir.c_str(), "tmpfs", 0, ("size=" + size).c_str()) == 0;
    if (!ok_) error_ = std::strerror(errno);
  }
  ~TmpfsMount() {
    if (ok_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  TmpfsMount(const TmpfsMount&) = delete;
  TmpfsMount& operator=(const TmpfsMount&) = delete;
  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }

 private:
  std::string dir_, error_;
  bool ok_ = false;
};

// Writes `path` until its file system is full, then gives back `leave` bytes.
inline void fill_leaving(const std::string& path, uint64_t leave) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) throw std::runtime_error("cannot create " + path);
  std::setvbuf(f, nullptr, _IONBF, 0);
  const std::string chunk(64 * 1024, 'x');
  uint64_t total = 0;
  while (std::fwrite(chunk.data(), 1, chunk.size(), f) == chunk.size()) total += chunk.size();
  std::fclose(f);
  std::filesystem::resize_file(path, total > leave ? total - leave : 0);
}

}  // namespace flowdb::testing

// Everything observable about a directory tree: the listing, and for each
// entry its type, mode, size, mtime, ctime and (files) full content. Used to
// prove that a read-only open or a read-only CLI command changed nothing.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <stdexcept>
#include <string>

namespace flowdb::testing {

struct DirEntryState {
  bool is_dir = false;
  uint32_t mode = 0;
  uint64_t size = 0;
  int64_t mtime_ns = 0, ctime_ns = 0;
  std::string content;  // the whole file
  friend bool operator==(const DirEntryState&, const DirEntryState&) = default;
};

using DirSnapshot = std::map<std::string, DirEntryState>;  // path relative to the root

inline DirSnapshot snapshot_dir(const std::string& root) {
  DirSnapshot out;
  if (!std::filesystem::exists(root)) return out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(root)) {
    struct stat st;
    if (::lstat(e.path().c_str(), &st) != 0) throw std::runtime_error("lstat " + e.path().string());
    DirEntryState s;
    s.is_dir = S_ISDIR(st.st_mode);
    s.mode = st.st_mode;
    s.size = static_cast<uint64_t>(st.st_size);
    s.mtime_ns = int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec;
    s.ctime_ns = int64_t{st.st_ctim.tv_sec} * 1'000'000'000 + st.st_ctim.tv_nsec;
    if (S_ISREG(st.st_mode)) {
      std::ifstream in(e.path(), std::ios::binary);
      s.content.assign(std::istreambuf_iterator<char>(in), {});
    }
    out[std::filesystem::relative(e.path(), root).string()] = std::move(s);
  }
  return out;
}

// Empty if equal, else one line per path that appeared, vanished or changed.
inline std::string diff_snapshots(const DirSnapshot& before, const DirSnapshot& after) {
  std::string out;
  for (const auto& [path, s] : before) {
    auto it = after.find(path);
    if (it == after.end()) {
      out += "removed " + path + "\n";
    } else if (!(it->second == s)) {
      const auto& t = it->second;
      out += "changed " + path + ":";
      if (t.content != s.content) out += " content";
      if (t.size != s.size)
        out += " size " + std::to_string(s.size) + "->" + std::to_string(t.size);
      if (t.mtime_ns != s.mtime_ns) out += " mtime";
      if (t.ctime_ns != s.ctime_ns) out += " ctime";
      if (t.mode != s.mode || t.is_dir != s.is_dir) out += " mode";
      out += "\n";
    }
  }
  for (const auto& [path, s] : after) {
    if (!before.count(path)) out += "created " + path + "\n";
  }
  return out;
}

}  // namespace flowdb::testing

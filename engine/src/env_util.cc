#include <filesystem>
#include <string>

#include "flowdb/env.h"
#include "flowdb/error.h"

namespace flowdb {

std::string read_file_to_string(Env* env, const std::string& path) {
  auto file = env->new_random_access_file(path);
  // Read until a short read rather than trusting size(): the file may still
  // be growing, and size() is only a hint for the first allocation.
  constexpr size_t kChunk = 64 * 1024;
  std::string out;
  out.reserve(static_cast<size_t>(file->size()));
  uint64_t offset = 0;
  for (;;) {
    const size_t old_size = out.size();
    out.resize(old_size + kChunk);
    const size_t n = file->read(offset, kChunk, out.data() + old_size);
    out.resize(old_size + n);
    offset += n;
    if (n < kChunk) break;
  }
  return out;
}

void write_file_atomic(Env* env, const std::string& path, std::string_view contents) {
  const std::string tmp = path + ".tmp";
  const std::string parent = std::filesystem::path(path).parent_path().string();
  const std::string dir = parent.empty() ? std::string(".") : parent;
  try {
    auto file = env->new_writable_file(tmp);
    file->append(contents);
    file->sync();  // the data must be durable before the rename can expose it
    file->close();
    env->rename_file(tmp, path);
  } catch (...) {
    // Leave no half-written temp file behind; the original (if any) is intact.
    try {
      if (env->file_exists(tmp)) env->remove_file(tmp);
    } catch (const Error&) {
      // The first error is the one worth reporting.
    }
    throw;
  }
  // The rename is only durable once the directory entry is.
  env->sync_dir(dir);
}

std::unique_ptr<FileLock> Env::lock_file_shared(const std::string& path) {
  throw Error(Errc::InvalidArgument, path + ": this Env does not support shared locks");
}

}  // namespace flowdb

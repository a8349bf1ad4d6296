// The POSIX Env. Every call maps directly onto one or a few system calls with
// no user-space buffering, so "append returned" means "the bytes are in the
// kernel" (they survive kill -9) and "sync returned" means "they are on disk".
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include "flowdb/env.h"
#include "flowdb/error.h"

namespace flowdb {
namespace {

// Maps errno to an Errc: a full device or exhausted quota is reported as
// NoSpace (callers may free space and retry), a missing path as NotFound,
// everything else as Io. The message always names the operation and path.
[[noreturn]] void throw_errno(std::string_view op, const std::string& path, int err) {
  Errc code = Errc::Io;
  if (err == ENOSPC || err == EDQUOT) {
    code = Errc::NoSpace;
  } else if (err == ENOENT) {
    code = Errc::NotFound;
  }
  std::string msg;
  msg.append(op).append(" ").append(path).append(": ").append(std::strerror(err));
  throw Error(code, msg);
}

[[noreturn]] void throw_closed(std::string_view op, const std::string& path) {
  std::string msg;
  msg.append(op).append(" ").append(path).append(": file is closed");
  throw Error(Errc::Io, msg);
}

int open_or_throw(const std::string& path, int flags, std::string_view op) {
  for (;;) {
    int fd = ::open(path.c_str(), flags | O_CLOEXEC, 0644);
    if (fd >= 0) return fd;
    if (errno != EINTR) throw_errno(op, path, errno);
  }
}

uint64_t fstat_size(int fd, const std::string& path) {
  struct stat st;
  if (::fstat(fd, &st) != 0) throw_errno("fstat", path, errno);
  return static_cast<uint64_t>(st.st_size);
}

// pwrite(2) may write fewer bytes than asked (signals, RLIMIT_FSIZE, nearly
// full devices); loop until everything is written or a real error occurs.
void pwrite_all(int fd, const std::string& path, uint64_t offset, std::string_view data) {
  const char* p = data.data();
  size_t left = data.size();
  while (left > 0) {
    ssize_t r = ::pwrite(fd, p, left, static_cast<off_t>(offset));
    if (r < 0) {
      if (errno == EINTR) continue;
      throw_errno("write to", path, errno);
    }
    p += r;
    left -= static_cast<size_t>(r);
    offset += static_cast<uint64_t>(r);
  }
}

size_t pread_all(int fd, const std::string& path, uint64_t offset, size_t n, char* scratch) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::pread(fd, scratch + got, n - got, static_cast<off_t>(offset + got));
    if (r < 0) {
      if (errno == EINTR) continue;
      throw_errno("read from", path, errno);
    }
    if (r == 0) break;  // end of file
    got += static_cast<size_t>(r);
  }
  return got;
}

void fdatasync_or_throw(int fd, const std::string& path) {
  while (::fdatasync(fd) != 0) {
    if (errno != EINTR) throw_errno("sync", path, errno);
  }
}

class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(std::string path, int fd, uint64_t size)
      : path_(std::move(path)), fd_(fd), size_(size) {}
  ~PosixWritableFile() override {
    if (fd_ >= 0) ::close(fd_);
  }

  void append(std::string_view data) override {
    if (fd_ < 0) throw_closed("append to", path_);
    // Same loop as pwrite_all, but size() counts bytes as they land so it stays
    // truthful after a partial failure.
    const char* p = data.data();
    size_t left = data.size();
    while (left > 0) {
      ssize_t r = ::write(fd_, p, left);
      if (r < 0) {
        if (errno == EINTR) continue;
        throw_errno("append to", path_, errno);
      }
      p += r;
      left -= static_cast<size_t>(r);
      size_ += static_cast<uint64_t>(r);
    }
  }

  void sync() override {
    if (fd_ < 0) throw_closed("sync", path_);
    fdatasync_or_throw(fd_, path_);
  }

  void close() override {
    if (fd_ < 0) return;
    int fd = fd_;
    fd_ = -1;
    // Never retry close(2) on EINTR: on Linux the descriptor is already gone.
    if (::close(fd) != 0 && errno != EINTR) throw_errno("close", path_, errno);
  }

  uint64_t size() const override { return size_; }

 private:
  const std::string path_;
  int fd_;
  uint64_t size_;
};

class PosixRandomAccessFile final : public RandomAccessFile {
 public:
  PosixRandomAccessFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixRandomAccessFile() override { ::close(fd_); }

  size_t read(uint64_t offset, size_t n, char* scratch) const override {
    return pread_all(fd_, path_, offset, n, scratch);
  }
  uint64_t size() const override { return fstat_size(fd_, path_); }

 private:
  const std::string path_;
  const int fd_;
};

class PosixReadWriteFile final : public Env::ReadWriteFile {
 public:
  PosixReadWriteFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixReadWriteFile() override { ::close(fd_); }

  size_t read(uint64_t offset, size_t n, char* scratch) const override {
    return pread_all(fd_, path_, offset, n, scratch);
  }
  uint64_t size() const override { return fstat_size(fd_, path_); }

  void write_at(uint64_t offset, std::string_view data) override {
    pwrite_all(fd_, path_, offset, data);
  }
  void sync() override { fdatasync_or_throw(fd_, path_); }
  void truncate(uint64_t size) override {
    while (::ftruncate(fd_, static_cast<off_t>(size)) != 0) {
      if (errno != EINTR) throw_errno("truncate", path_, errno);
    }
  }
  void punch_hole(uint64_t offset, uint64_t len) override {
    if (len == 0) return;  // fallocate rejects empty ranges with EINVAL
    while (::fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(offset),
                       static_cast<off_t>(len)) != 0) {
      // Space reclamation is an optimisation: file systems without hole
      // support simply keep the (already unreferenced) bytes.
      if (errno == EOPNOTSUPP || errno == ENOSYS) return;
      if (errno != EINTR) throw_errno("punch hole in", path_, errno);
    }
  }

 private:
  const std::string path_;
  const int fd_;
};

class PosixFileLock final : public FileLock {
 public:
  explicit PosixFileLock(int fd) : fd_(fd) {}
  // Closing the descriptor releases the flock (it belongs to this open file
  // description only).
  ~PosixFileLock() override { ::close(fd_); }

 private:
  const int fd_;
};

class PosixEnv final : public Env {
 public:
  std::unique_ptr<WritableFile> new_writable_file(const std::string& path) override {
    int fd = open_or_throw(path, O_WRONLY | O_CREAT | O_TRUNC, "create");
    return std::make_unique<PosixWritableFile>(path, fd, 0);
  }

  std::unique_ptr<WritableFile> new_appendable_file(const std::string& path) override {
    int fd = open_or_throw(path, O_WRONLY | O_APPEND, "open for append");
    uint64_t size;
    try {
      size = fstat_size(fd, path);
    } catch (...) {
      ::close(fd);
      throw;
    }
    return std::make_unique<PosixWritableFile>(path, fd, size);
  }

  std::unique_ptr<RandomAccessFile> new_random_access_file(const std::string& path) override {
    int fd = open_or_throw(path, O_RDONLY, "open for read");
    return std::make_unique<PosixRandomAccessFile>(path, fd);
  }

  std::unique_ptr<ReadWriteFile> new_read_write_file(const std::string& path) override {
    int fd = open_or_throw(path, O_RDWR | O_CREAT, "open for read/write");
    return std::make_unique<PosixReadWriteFile>(path, fd);
  }

  bool file_exists(const std::string& path) override { return ::access(path.c_str(), F_OK) == 0; }

  std::vector<std::string> get_children(const std::string& dir) override {
    std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), &::closedir);
    if (d == nullptr) throw_errno("list directory", dir, errno);
    std::vector<std::string> names;
    for (;;) {
      errno = 0;  // readdir signals errors only through errno
      const struct dirent* e = ::readdir(d.get());
      if (e == nullptr) {
        if (errno != 0) throw_errno("list directory", dir, errno);
        return names;
      }
      const std::string_view name(e->d_name);
      if (name != "." && name != "..") names.emplace_back(name);
    }
  }

  uint64_t get_file_size(const std::string& path) override {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) throw_errno("stat", path, errno);
    return static_cast<uint64_t>(st.st_size);
  }

  void remove_file(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) throw_errno("remove", path, errno);
  }

  void create_dir(const std::string& dir) override {
    // mkdir each missing component; EEXIST is fine as long as it is a directory
    // (a concurrent creator may win the race).
    std::filesystem::path full = std::filesystem::path(dir).lexically_normal();
    std::filesystem::path prefix;
    for (const auto& part : full) {
      prefix /= part;
      const std::string p = prefix.string();
      if (p.empty() || p == "/" || part == "." || part == "..") continue;
      if (::mkdir(p.c_str(), 0755) == 0) continue;
      int err = errno;
      struct stat st;
      if (err == EEXIST && ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) continue;
      throw_errno("create directory", p, err == EEXIST ? ENOTDIR : err);
    }
  }

  void rename_file(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) throw_errno("rename", from + " to " + to, errno);
  }

  void truncate_file(const std::string& path, uint64_t size) override {
    while (::truncate(path.c_str(), static_cast<off_t>(size)) != 0) {
      if (errno != EINTR) throw_errno("truncate", path, errno);
    }
  }

  void sync_dir(const std::string& dir) override {
    int fd = open_or_throw(dir, O_RDONLY | O_DIRECTORY, "open directory");
    int rc;
    while ((rc = ::fsync(fd)) != 0 && errno == EINTR) {
    }
    int err = errno;
    ::close(fd);
    if (rc != 0) throw_errno("sync directory", dir, err);
  }

  std::unique_ptr<FileLock> lock_file(const std::string& path) override {
    return lock(open_or_throw(path, O_RDWR | O_CREAT, "open lock file"), LOCK_EX, path);
  }

  std::unique_ptr<FileLock> lock_file_shared(const std::string& path) override {
    return lock(open_or_throw(path, O_RDONLY, "open lock file"), LOCK_SH, path);
  }

 private:
  static std::unique_ptr<FileLock> lock(int fd, int how, const std::string& path) {
    int rc;
    while ((rc = ::flock(fd, how | LOCK_NB)) != 0 && errno == EINTR) {
    }
    if (rc != 0) {
      int err = errno;
      ::close(fd);
      if (err == EWOULDBLOCK) {
        const std::string parent = std::filesystem::path(path).parent_path().string();
        const std::string dir = parent.empty() ? std::string(".") : parent;
        throw Error(
            Errc::Busy,
            "data directory " + dir +
                (how == LOCK_EX ? " is locked by another process, a writer or a read-only reader"
                                : " is locked for writing by another process (an open engine)") +
                " (lock file " + path + ")");
      }
      throw_errno("lock", path, err);
    }
    return std::make_unique<PosixFileLock>(fd);
  }
};

}  // namespace

Env* Env::posix() {
  // PosixEnv has no state, so a plain static is safe to use during static
  // destruction of other objects as well.
  static PosixEnv env;
  return &env;
}

}  // namespace flowdb

#include "open_file_limiter.h"

#include <sys/resource.h>

#include <algorithm>
#include <list>
#include <unordered_map>
#include <vector>

#include "flowdb/error.h"
#include "mutex.h"

namespace flowdb {

// The open/idle bookkeeping of every file of one limiter. Files are closed
// (their last shared_ptr dropped) outside mu: close() is a system call.
struct OpenFileLimiter::State {
  using Closed = std::vector<std::shared_ptr<RandomAccessFile>>;
  struct Slot {
    std::shared_ptr<RandomAccessFile> file;  // null while closed
    int readers = 0;
    bool idle = false;                  // open, unread, and in `idle`
    std::list<uint64_t>::iterator pos;  // in `idle` when idle
  };

  explicit State(size_t m) : max_open(m) {}
  const size_t max_open;

  Mutex mu;
  std::unordered_map<uint64_t, Slot> slots GUARDED_BY(mu);
  std::list<uint64_t> idle GUARDED_BY(mu);  // front = most recently read
  size_t open GUARDED_BY(mu) = 0;
  uint64_t next_id GUARDED_BY(mu) = 0;

  void make_idle_locked(uint64_t id, Slot& s) REQUIRES(mu) {
    idle.push_front(id);
    s.pos = idle.begin();
    s.idle = true;
  }
  void unidle_locked(Slot& s) REQUIRES(mu) {
    if (!s.idle) return;
    idle.erase(s.pos);
    s.idle = false;
  }
  // Closes the least recently used idle files while over the cap.
  void trim_locked(Closed* out) REQUIRES(mu) {
    while (open > max_open && !idle.empty()) {
      Slot& s = slots.at(idle.back());
      idle.pop_back();
      s.idle = false;
      out->push_back(std::move(s.file));
      --open;
    }
  }

  uint64_t add(std::shared_ptr<RandomAccessFile> f) {
    Closed closed;
    MutexLock l(&mu);
    const uint64_t id = next_id++;
    Slot& s = slots[id];
    s.file = std::move(f);
    ++open;
    make_idle_locked(id, s);
    trim_locked(&closed);
    return id;
  }
  void remove(uint64_t id) {
    std::shared_ptr<RandomAccessFile> file;
    MutexLock l(&mu);
    auto it = slots.find(id);
    unidle_locked(it->second);
    if (it->second.file) --open;
    file = std::move(it->second.file);
    slots.erase(it);
  }
  // Marks a read in progress; returns the open file or null if closed.
  std::shared_ptr<RandomAccessFile> acquire(uint64_t id) {
    MutexLock l(&mu);
    Slot& s = slots.at(id);
    ++s.readers;
    unidle_locked(s);
    return s.file;
  }
  // Installs a file opened by acquire()'s caller, unless another reader was
  // faster; returns the one to read.
  std::shared_ptr<RandomAccessFile> install(uint64_t id, std::shared_ptr<RandomAccessFile> f) {
    Closed closed;
    MutexLock l(&mu);
    Slot& s = slots.at(id);
    if (!s.file) {
      s.file = std::move(f);
      ++open;
      trim_locked(&closed);
    }
    return s.file;
  }
  void release(uint64_t id) {
    Closed closed;
    MutexLock l(&mu);
    Slot& s = slots.at(id);
    if (--s.readers == 0 && s.file) make_idle_locked(id, s);
    trim_locked(&closed);
  }
};

class OpenFileLimiter::LimitedFile final : public RandomAccessFile {
 public:
  LimitedFile(std::shared_ptr<State> st, Env* env, std::string path,
              std::unique_ptr<RandomAccessFile> f)
      : st_(std::move(st)),
        env_(env),
        path_(std::move(path)),
        size_(f->size()),
        id_(st_->add(std::move(f))) {}
  ~LimitedFile() override { st_->remove(id_); }

  size_t read(uint64_t offset, size_t n, char* scratch) const override {
    struct Release {
      State* st;
      uint64_t id;
      ~Release() { st->release(id); }
    } release{st_.get(), id_};
    std::shared_ptr<RandomAccessFile> f = st_->acquire(id_);
    if (!f) f = st_->install(id_, reopen());
    return f->read(offset, n, scratch);
  }
  uint64_t size() const override { return size_; }

 private:
  std::shared_ptr<RandomAccessFile> reopen() const {
    try {
      return env_->new_random_access_file(path_);
    } catch (const Error& e) {
      // Tables leave the disk only once nothing reads them: gone is damage.
      if (e.code() != Errc::NotFound) throw;
      throw Error(Errc::Corruption, "live table is missing: " + std::string(e.what()));
    }
  }

  const std::shared_ptr<State> st_;
  Env* const env_;
  const std::string path_;
  const uint64_t size_;
  const uint64_t id_;
};

OpenFileLimiter::OpenFileLimiter(size_t max_open)
    : state_(std::make_shared<State>(std::max<size_t>(1, max_open))) {}
OpenFileLimiter::~OpenFileLimiter() = default;

size_t OpenFileLimiter::default_max_open() {
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) != 0 || r.rlim_cur == RLIM_INFINITY) return 4096;
  return std::clamp<size_t>(static_cast<size_t>(r.rlim_cur) / 2, 16, 1u << 20);
}

std::unique_ptr<RandomAccessFile> OpenFileLimiter::open(Env* env, const std::string& path) {
  return std::make_unique<LimitedFile>(state_, env, path, env->new_random_access_file(path));
}

size_t OpenFileLimiter::max_open() const { return state_->max_open; }

size_t OpenFileLimiter::open_now() const {
  MutexLock l(&state_->mu);
  return state_->open;
}

}  // namespace flowdb

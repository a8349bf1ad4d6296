// Mutex, MutexLock and CondVar: std::mutex and std::condition_variable_any
// with the Clang thread-safety annotations that libstdc++'s std::mutex lacks
// (as LevelDB's port::Mutex and absl::Mutex have them).
//
// Thread-safety: a Mutex is what it guards; MutexLock is for one thread.
#pragma once

#include <condition_variable>
#include <mutex>

#include "thread_annotations.h"

namespace flowdb {

class CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  // Lower-case, so that a CondVar (std::condition_variable_any) can wait on a
  // Mutex directly: cv.wait(mu) releases and retakes it.
  void lock() ACQUIRE() { mu_.lock(); }
  void unlock() RELEASE() { mu_.unlock(); }

 private:
  std::mutex mu_;
};

// Holds a Mutex for its scope; unlock() / lock() release and retake it
// within the scope (the analysis tracks both).
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ACQUIRE(mu) : mu_(mu) { mu_->lock(); }
  ~MutexLock() RELEASE() {
    if (held_) mu_->unlock();
  }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  void unlock() RELEASE() {
    held_ = false;
    mu_->unlock();
  }
  void lock() ACQUIRE() {
    mu_->lock();
    held_ = true;
  }

 private:
  Mutex* const mu_;
  bool held_ = true;
};

// Waits on a Mutex the caller holds: cv.wait(mu), cv.wait_for(mu, d). The
// analysis sees the mutex held throughout, which is what the caller observes.
// Predicates are written as loops around the wait: a lambda is analysed on
// its own and would not know that the mutex is held.
using CondVar = std::condition_variable_any;

}  // namespace flowdb

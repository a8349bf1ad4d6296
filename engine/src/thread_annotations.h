// Clang thread-safety annotations (-Wthread-safety), after LevelDB's
// port/thread_annotations.h and absl/base/thread_annotations.h. They state
// which mutex guards a member and which locks a function needs, so that the
// `thread-safety` preset (CMakePresets.json) checks them at compile time.
// They expand to nothing for other compilers.
#pragma once

#if defined(__clang__)
#define FLOWDB_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define FLOWDB_THREAD_ANNOTATION(x)
#endif

// A member read or written only with the given mutex held.
#define GUARDED_BY(x) FLOWDB_THREAD_ANNOTATION(guarded_by(x))
// A pointer member whose pointee is accessed only with the mutex held.
#define PT_GUARDED_BY(x) FLOWDB_THREAD_ANNOTATION(pt_guarded_by(x))
// A function the caller must call with the mutexes held ...
#define REQUIRES(...) FLOWDB_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
// ... or must not hold (the function takes them itself).
#define EXCLUDES(...) FLOWDB_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
// A function that acquires / releases the mutexes (or `this`, for a mutex).
#define ACQUIRE(...) FLOWDB_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define RELEASE(...) FLOWDB_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
// A class that is a lock, and an RAII class that holds one.
#define CAPABILITY(x) FLOWDB_THREAD_ANNOTATION(capability(x))
#define SCOPED_CAPABILITY FLOWDB_THREAD_ANNOTATION(scoped_lockable)
// A function the analysis cannot follow; every use says why.
#define NO_THREAD_SAFETY_ANALYSIS FLOWDB_THREAD_ANNOTATION(no_thread_safety_analysis)

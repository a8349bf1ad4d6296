// Helpers shared by the JsonDB tests.
#pragma once

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "engine_util.h"
#include "flowdb/jsondb.h"

namespace flowdb::jsondb::testing {

using boost::json::value;

inline value J(const char* text) { return boost::json::parse(text); }

// A JsonDB in a fresh temporary directory.
struct DbFixture {
  flowdb::testing::TempDir dir;
  std::unique_ptr<JsonDB> db;

  DbFixture() { reopen(); }
  Config config() const {
    Config c;
    c.data_dir = dir.path();
    c.memtable_size_mb = 1;
    c.auto_background = false;
    c.wal_sync_mode = SyncMode::interval_ms(50);
    c.block_cache_capacity_mb = 4;
    return c;
  }
  void reopen() {
    db.reset();
    db = JsonDB::open(config());
  }
};

}  // namespace flowdb::jsondb::testing

// CHECK that `expr` throws flowdb::Error with code Errc::`errc`.
#define CHECK_ERRC(expr, errc)                                                            \
  do {                                                                                    \
    try {                                                                                 \
      (void)(expr);                                                                       \
      FAIL_CHECK("expected " #errc " from " #expr);                                       \
    } catch (const ::flowdb::Error& e_) {                                                 \
      CHECK(::flowdb::errc_name(e_.code()) == ::flowdb::errc_name(::flowdb::Errc::errc)); \
    }                                                                                     \
  } while (0)

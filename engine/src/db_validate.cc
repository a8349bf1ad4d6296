#include "db_validate.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include "file_store.h"

namespace flowdb {

namespace {

bool parse_numbered(const std::string& name, const std::string& prefix, const std::string& suffix,
                    uint64_t* n) {
  if (name.size() <= prefix.size() + suffix.size()) return false;
  if (name.compare(0, prefix.size(), prefix) != 0) return false;
  if (name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) return false;
  const std::string digits =
      name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  if (digits.empty() || digits.size() > 19) return false;
  if (!std::all_of(digits.begin(), digits.end(), ::isdigit)) return false;
  *n = std::stoull(digits);
  return true;
}

std::vector<std::string> children(Env* env, const std::string& dir) {
  if (!env->file_exists(dir)) return {};
  return env->get_children(dir);
}

void scan(Env* env, const std::string& dir, const std::string& prefix, const std::string& suffix,
          std::vector<uint64_t>* out) {
  for (const auto& name : children(env, dir)) {
    uint64_t n;
    if (parse_numbered(name, prefix, suffix, &n)) out->push_back(n);
  }
  std::sort(out->begin(), out->end());
}

std::string count(size_t n, const char* what) {
  return std::to_string(n) + " " + what + (n == 1 ? "" : "s");
}

}  // namespace

bool DirInventory::holds_data() const {
  return !manifests.empty() || !wal_segments.empty() || !tables.empty() || !temp_tables.empty() ||
         pack_bytes > 0;
}

std::string DirInventory::describe() const {
  std::string s = count(manifests.size(), "MANIFEST file") + ", " +
                  count(wal_segments.size(), "WAL segment") + ", " +
                  count(tables.size(), "table file") + ", " +
                  count(temp_tables.size(), "unfinished table file");
  if (pack_bytes > 0) s += ", sst.pack of " + std::to_string(pack_bytes) + " bytes";
  return s;
}

DirInventory inventory_dir(Env* env, const std::string& dir) {
  DirInventory inv;
  scan(env, dir, "MANIFEST-", "", &inv.manifests);
  scan(env, dir + "/wal", "", ".log", &inv.wal_segments);
  scan(env, dir + "/sst", "", ".sst", &inv.tables);
  scan(env, dir + "/sst", "", ".sst.tmp", &inv.temp_tables);
  scan(env, dir + "/staging", "", ".sst", &inv.temp_tables);
  if (env->file_exists(dir + "/sst.pack")) inv.pack_bytes = env->get_file_size(dir + "/sst.pack");
  return inv;
}

std::vector<std::string> audit_recovered_state(Env* env, const std::string& dir,
                                               const DirInventory& inv, const Version& live,
                                               uint64_t log_number, bool single_file) {
  std::vector<std::string> problems;
  if (log_number != 0 &&
      !std::binary_search(inv.wal_segments.begin(), inv.wal_segments.end(), log_number)) {
    problems.push_back("WAL segment " + std::to_string(log_number) +
                       " that the manifest needs is missing");
  }
  for (const auto& [bucket, files] : live.buckets) {
    for (const auto& f : files) {
      const std::string id = "live table " + std::to_string(f->number);
      if (single_file) {
        if (f->container_offset + f->file_size > inv.pack_bytes) {
          problems.push_back(id + " lies past the end of sst.pack");
        }
        continue;
      }
      if (!std::binary_search(inv.tables.begin(), inv.tables.end(), f->number)) {
        problems.push_back(id + " is missing");
      } else if (env->get_file_size(dir + "/sst/" + table_file_name(f->number)) != f->file_size) {
        problems.push_back(id + " does not have its recorded size");
      }
    }
  }
  return problems;
}

std::vector<std::string> audit_wal_segments(Env* env, const std::string& dir,
                                            const DirInventory& inv, const VersionSet& versions,
                                            uint64_t recovered_next) {
  std::vector<std::string> problems;
  const auto& on_disk = inv.wal_segments;
  for (uint64_t n : versions.recorded_wal_segments()) {
    if (!std::binary_search(on_disk.begin(), on_disk.end(), n) && n != versions.log_number()) {
      problems.push_back("WAL segment " + std::to_string(n) +
                         " that the manifest recorded is missing");
    }
  }
  if (!versions.tracks_wal_segments()) return problems;
  for (uint64_t n : on_disk) {
    if (n < recovered_next) continue;
    const std::string name = std::to_string(n);
    char buf[32];
    std::snprintf(buf, sizeof buf, "/wal/%06llu.log", static_cast<unsigned long long>(n));
    const uint64_t size = env->get_file_size(dir + buf);
    if (size > 0) {
      problems.push_back("WAL segment " + name + " holds " + std::to_string(size) +
                         " bytes but is numbered at or past the recovered next file number " +
                         std::to_string(recovered_next) + " (an edit that recorded it is lost)");
    }
  }
  return problems;
}

}  // namespace flowdb

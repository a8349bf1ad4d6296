#include "agent/systemd_notify.h"

#if FLOWDB_WITH_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

namespace flowdb::agent::service {
namespace {

void send(const std::string& state) {
#if FLOWDB_WITH_SYSTEMD
  // unset_environment = 0: child processes (none today) may notify too.
  (void)sd_notify(0, state.c_str());
#else
  (void)state;
#endif
}

}  // namespace

void notify_ready(const std::string& status) { send("READY=1\nSTATUS=" + status); }
void notify_reloading() { send("RELOADING=1\nSTATUS=reloading the configuration"); }
void notify_stopping(const std::string& status) { send("STOPPING=1\nSTATUS=" + status); }
void notify_status(const std::string& status) { send("STATUS=" + status); }
void notify_watchdog() { send("WATCHDOG=1"); }

std::chrono::microseconds watchdog_interval() {
#if FLOWDB_WITH_SYSTEMD
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) return std::chrono::microseconds(usec / 2);
#endif
  return std::chrono::microseconds(0);
}

}  // namespace flowdb::agent::service

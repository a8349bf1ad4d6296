// Service-manager notifications (systemd Type=notify): readiness, reload,
// stop and watchdog keep-alives, through libsystemd's sd_notify(3).
//
// Every call is a no-op when the agent does not run under a notify-aware
// service manager ($NOTIFY_SOCKET unset) or was built without
// FLOWDB_WITH_SYSTEMD. Thread-safe (sd_notify is).
#pragma once

#include <chrono>
#include <string>

namespace flowdb::agent::service {

// READY=1 with a STATUS= line: startup finished, inputs are listening.
void notify_ready(const std::string& status);
// RELOADING=1: a SIGHUP reload started; follow with notify_ready().
void notify_reloading();
// STOPPING=1 with a STATUS= line: shutdown started.
void notify_stopping(const std::string& status);
// STATUS= only (shown by systemctl status).
void notify_status(const std::string& status);
// WATCHDOG=1: the main loop is alive.
void notify_watchdog();
// Half the service's WatchdogSec= (the interval to send keep-alives at), or
// zero when no watchdog is configured for this process.
std::chrono::microseconds watchdog_interval();

}  // namespace flowdb::agent::service

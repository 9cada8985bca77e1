// Failpoints: named places in the commit path where a test can make the process die.
//
// Set SLUICE_FAILPOINT=<name>:<k> (e.g. "after_publish:3"); the k-th time the process passes
// FailPoint("<name>") it writes a line to stderr and calls _exit(kFailPointExitCode) at once —
// no destructors, no flushing, like a crash. Without the variable every FailPoint is a cheap
// no-op. Always compiled in. Thread-safe.
//
// SLUICE_FAILPOINT=<name>:delay=<ms> instead sleeps that long at every hit: crash tests slow the
// job down with it so that their random kills land while input is left, on any machine.
//
// Names used by the runtime: after_poll, after_process, before_commit_write,
// after_commit_write, after_publish, before_outbox_clear, during_recovery; over a broker also
// before_txn_commit, after_txn_commit, before_republish, during_restore.
#pragma once

namespace sluice {

inline constexpr int kFailPointExitCode = 86;

void FailPoint(const char* name);

}  // namespace sluice

#pragma once
// The process-wide side of shadow reads: what every worker's ShadowRunner
// reports to. It owns the tenants' guards and the mismatch evidence, writes
// the STATUS_MISMATCH / GUARD_* lines, and turns a guard trip into a flag
// change through TenantDirectory::apply (who "guard"), the same typed path a
// PATCH takes, so the trip is persisted and logged as PHASE_CHANGE. That
// change runs off the data path (the control plane's thread): it may write
// state_file.
#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "config/config.h"
#include "proxy/flags/flag_change.h"
#include "proxy/shadow/guard_board.h"
#include "proxy/shadow/latency_book.h"
#include "proxy/shadow/mismatch_log.h"
#include "proxy/shadow/rate_history.h"
#include "proxy/telemetry/histogram.h"

namespace sy::proxy {

class Metrics;
class TenantDirectory;

//! shadow_dropped_total's `reason` label.
enum class DropReason : uint8_t {
  QueueFull,      //!< the worker already holds max_inflight shadows of the tenant
  NoCredentials,  //!< the target has no `user` (or its password_env is unset)
  TargetDown,     //!< connecting failed (recently: new shadows skip it for a second)
  Deadline,       //!< timeout_ms passed, queued or running
  Error,          //!< a form failed on the server
  NotComparable,  //!< the forms answer differently by design (compare_plan.h)
  TooLarge,       //!< a Bind too large to keep (its parameters were streamed through)
  //! Another target differed at every look, but never in the same rows:
  //! rows written while it catches up, not a difference in the data.
  Unsettled,
};
inline constexpr size_t kDropReasons = static_cast<size_t>(DropReason::Unsettled) + 1;
const char* to_string(DropReason r);

//! One tenant's shadow series, resolved once per worker (no lock, no label
//! strings per shadow).
struct ShadowCounters {
  Counter* compared = nullptr;
  Counter* mismatches = nullptr;
  Counter* noise = nullptr;
  Counter* answers_kept = nullptr;
  std::array<Counter*, kDropReasons> dropped{};
};

class ShadowService {
 public:
  ShadowService(Metrics& metrics, TenantDirectory& directory);

  //! Where trips are applied: a function that runs its argument on the
  //! control plane's thread. Until set, trips run on the caller's thread.
  void set_off_path(std::function<void(std::function<void()>)> post) { off_path_ = std::move(post); }

  //! Told of every trip applied here (on the control plane's thread), with
  //! the change and why: the flags store writes it for the whole fleet.
  void set_trip_sink(std::function<void(const std::string&, const FlagChange&, const std::string&)> sink) {
    trip_sink_ = std::move(sink);
  }

  ShadowCounters counters(const std::string& tenant);
  //! switchyard_shadow_duration_seconds: one shadow, from a lane taking it to its verdict or drop.
  Histogram& duration();
  std::shared_ptr<shadow::TenantGuard> guard(const std::string& tenant, const config::Guard& settings) {
    return guards_.guard(tenant, settings);
  }

  //! One compare's verdict (noise never comes here). A mismatch brings its evidence.
  void judged(const std::string& tenant, shadow::TenantGuard& guard, const config::Guard& settings,
              std::optional<shadow::MismatchRecord> evidence);

  //! Both forms' times of one same-server shadow (latency_book.h). True when
  //! the caller is to take EXPLAIN of both forms now and pass it to explained().
  bool timed(const std::string& tenant, const std::string& fingerprint, const std::string& sql,
             const std::string& switched_sql, std::chrono::microseconds legacy, std::chrono::microseconds switched);
  //! The plans of a slow fingerprint: stored, and one SLOW_READ line.
  void explained(const std::string& tenant, const std::string& fingerprint, std::string legacy_plan,
                 std::string switched_plan, std::string at);

  //! An operator changed the tenant (PATCH): its guard is cleared.
  void operator_changed(const std::string& tenant);

  std::string mismatches_json(const std::string& tenant = {}) const { return mismatches_.json(tenant); }
  std::optional<shadow::GuardState> guard_state(const std::string& tenant) const { return guards_.state(tenant); }
  std::vector<shadow::MismatchRecord> latest_mismatches(const std::string& tenant, size_t n) const {
    return mismatches_.latest(tenant, n);
  }
  std::string slow_reads_json(const std::string& tenant = {}) const { return latency_.json(tenant); }
  std::vector<shadow::SlowRead> slow_reads(const std::string& tenant) const { return latency_.slow(tenant); }
  //! Compares and mismatches per minute over the last hour, oldest first.
  std::vector<shadow::MinuteCounts> rate_history(const std::string& tenant) const {
    return history_.series(tenant, shadow::RateHistory::Clock::now());
  }

 private:
  void set_gauge(const std::string& tenant, shadow::GuardState s);
  void trip(const std::string& tenant, const shadow::GuardUpdate& u);

  Metrics& metrics_;
  TenantDirectory& directory_;
  shadow::GuardBoard guards_;
  shadow::MismatchLog mismatches_;
  shadow::LatencyBook latency_;
  shadow::RateHistory history_;
  std::function<void(std::function<void()>)> off_path_;
  std::function<void(const std::string&, const FlagChange&, const std::string&)> trip_sink_;
};

}  // namespace sy::proxy

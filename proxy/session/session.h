#pragma once
// What the server needs from any client session, whatever its protocol:
// a way to end it from outside when the drain deadline passes.
#include <memory>
#include <string>

#include "config/config.h"
#include "rewrite/decision.h"
#include "rewrite/decision_cache.h"

namespace sy::proxy {

struct ListenerRuntime;
class CancelRegistry;
class SessionSet;
class Metrics;
struct FaultPlan;
class TenantStats;
class ShadowRunner;

//! What every session gets from the server that accepted it.
struct SessionDeps {
  std::shared_ptr<ListenerRuntime> listener;
  CancelRegistry* cancels;
  SessionSet* sessions;
  //! The decision cache of the worker thread the session runs on (only that
  //! thread touches it, so a cache hit takes no lock).
  rewrite::DecisionCache* decisions = nullptr;
  const FaultPlan* faults = nullptr;  //!< test builds only; see fault_plan.h
  //! The shadow reads of the worker thread the session runs on (null: none).
  ShadowRunner* shadow = nullptr;
};

//! Counts a rewrite decision's events in the tenant's rewrites_total (no lock,
//! no label strings) and writes one JSON `rewrite` line per event (category,
//! transition, fingerprint ...).
void record_decision(const TenantStats& stats, const rewrite::Decision& d, config::Phase phase, const std::string& client);

class Session {
 public:
  virtual ~Session() = default;
  //! Ends the session with a protocol-appropriate error (`code` is a SQLSTATE
  //! for PostgreSQL, an error number for MySQL). Thread-safe.
  virtual void terminate(std::string code, std::string message) = 0;
};

}  // namespace sy::proxy

#pragma once
// The answer both session-state models give to "may this run elsewhere?" and
// "can this session be rebuilt on a fresh connection?": a named hazard the
// router can count by, plus a sentence for the log.
#include <cstdint>
#include <string>
#include <string_view>

namespace sy::proto {

enum class Hazard : uint8_t {
  None,              //!< safe / replayable
  Uncertain,         //!< the model lost track (unknown set_config, cap reached, replies out of step)
  Pending,           //!< statements are still waiting for their replies
  Transaction,       //!< a transaction is open (or MySQL autocommit is off)
  TempTables,        //!< temporary tables exist only on this connection
  Locks,             //!< advisory / named / table locks are held
  Listen,            //!< LISTEN is active (PostgreSQL)
  NotReplayable,     //!< state that a fresh connection of another user cannot take (SET ROLE …)
  SessionStatement,  //!< the statement itself changes or reads this connection's own state
};

constexpr std::string_view hazard_name(Hazard h) {
  switch (h) {
    case Hazard::None: return "none";
    case Hazard::Uncertain: return "uncertain";
    case Hazard::Pending: return "pending";
    case Hazard::Transaction: return "transaction";
    case Hazard::TempTables: return "temp_tables";
    case Hazard::Locks: return "locks";
    case Hazard::Listen: return "listen";
    case Hazard::NotReplayable: return "not_replayable";
    case Hazard::SessionStatement: return "session_statement";
  }
  return "unknown";
}

struct Verdict {
  Hazard hazard = Hazard::None;
  std::string reason;  //!< empty when hazard is None
  bool safe() const { return hazard == Hazard::None; }
};

//! Blocks a replay and a read elsewhere alike while statements still wait for
//! their replies: what they changed is not known yet.
inline Verdict replies_pending() { return {Hazard::Pending, "replies are still outstanding"}; }

}  // namespace sy::proto

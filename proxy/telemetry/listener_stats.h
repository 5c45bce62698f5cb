#pragma once
// The counters of one listener that sessions touch: its connection gauge and
// its targets' error counters, resolved once per listener (LazySeries), so a
// session neither locks the registry nor builds a label string for them.
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "proxy/telemetry/lazy_series.h"

namespace sy::proxy {

class ListenerStats {
 public:
  ListenerStats(Metrics& metrics, const config::Listener& listener);

  //! client_connections{listener}.
  Counter& client_connections() const { return connections_.get(); }
  //! backend_errors_total{target}; "unknown" when no target was chosen yet.
  Counter& backend_errors(std::string_view target) const;

 private:
  LazySeries connections_;
  std::vector<std::string> targets_;//!< the listener's targets, then "unknown"
  std::deque<LazySeries> backend_errors_;  //!< same order as targets_
};

}  // namespace sy::proxy

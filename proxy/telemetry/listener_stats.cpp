#include "proxy/telemetry/listener_stats.h"

namespace sy::proxy {

ListenerStats::ListenerStats(Metrics& metrics, const config::Listener& listener)
    : connections_(metrics, "client_connections", {{"listener", listener.name}}) {
  for (const auto& t : listener.targets) targets_.push_back(t.name);
  targets_.push_back("unknown");
  for (const auto& t : targets_) backend_errors_.emplace_back(metrics, "backend_errors_total", LazySeries::Labels{{"target", t}});
}

Counter& ListenerStats::backend_errors(std::string_view target) const {
  size_t i = 0;
  while (i + 1 < targets_.size() && targets_[i] != target) ++i;  // an unknown name counts as "unknown"
  return backend_errors_[i].get();
}

}  // namespace sy::proxy

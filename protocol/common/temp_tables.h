#pragma once
// Temporary tables a session created, shared by the two session-state models.
// A multiset: the same name may be created again in another schema, and ""
// stands for one whose name could not be read (it is never dropped by name).
#include <set>
#include <string>
#include <vector>

namespace sy::proto {

//! DROP TABLE a, b: forget one table of each name the session created.
inline void drop_temps(std::multiset<std::string>& temps, const std::vector<std::string>& names) {
  for (const auto& n : names)
    if (auto it = temps.find(n); it != temps.end() && !n.empty()) temps.erase(it);
}

}  // namespace sy::proto

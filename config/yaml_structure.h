#pragma once
#include <string>
#include <vector>

#include "config/loader.h"

namespace YAML {
class Node;
}

namespace sy::config {

//! Checks on the YAML itself, before any key is read: what YAML allows but a
//! lookup by key would silently drop or misplace.
//! - A second document (`---`): the loader reads the first one only.
//! - A merge key (`<<: *base`): yaml-cpp keeps `<<` as an ordinary key, so the
//!   merged settings would never apply.
//! - An alias standing where its anchor could not: `shadow: *guard_settings`
//!   puts one section's keys into another, where they either fail as unknown
//!   keys far from the cause or, worse, happen to fit. An alias must sit in the
//!   same top-level section under the same key name as its anchor (`tenants[0].shadow`
//!   may be reused as `tenants[3].shadow`).
//! Each error names the lines involved.
std::vector<ConfigError> check_yaml_structure(const std::string& yaml);

//! YAML lets a mapping repeat a key and yaml-cpp keeps both, while a lookup
//! sees only the first: a second `tenants:` block, or `name:` twice in one
//! listener, would be silently ignored. Every repeat is an error naming both
//! lines. `path` is where the mapping sits, for the message.
void find_duplicate_keys(const YAML::Node& node, const std::string& path, std::vector<ConfigError>& errors);

}  // namespace sy::config

#pragma once
// `switchyard verify`: per migration of a tenant, how many rows hold the
// unified value switchyard would write for their legacy value.
#include <string>

#include "config/config.h"

namespace sy::proxy {

//! Prints the report; returns 0 when no row is inconsistent, 1 when some are,
//! 2 when the report could not be made.
int verify(const config::Config& cfg, const std::string& tenant, const std::string& target, bool json);

}  // namespace sy::proxy

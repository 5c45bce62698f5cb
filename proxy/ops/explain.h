#pragma once
// `switchyard explain`: what the rewrite engine would do to one statement text
// for a tenant, without touching any database. Operators run it before they
// move a tenant to the next phase.
#include <string>

#include "config/config.h"

namespace sy::proxy {

//! Prints the decision to stdout; returns the process exit code. An empty
//! `dialect` means the protocol of the listener the tenant matches.
int explain(const config::Config& cfg, const std::string& tenant, const std::string& phase, const std::string& dialect,
            const std::string& sql, bool json);

}  // namespace sy::proxy

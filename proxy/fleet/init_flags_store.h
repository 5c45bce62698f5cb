#pragma once
// `switchyard init-flags-store -c FILE`: creates the flags store's tables
// (CREATE TABLE IF NOT EXISTS, so running it again changes nothing) in the
// database of flags_store.target, logged in as that target's user.
#include <ostream>

#include "config/config.h"

namespace sy::proxy {

//! 0 done, 1 the file has no flags_store, 2 the store could not be reached or written.
int init_flags_store(const config::Config& cfg, std::ostream& out, std::ostream& err);

}  // namespace sy::proxy

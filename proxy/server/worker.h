#pragma once
// One data-path thread: its io_context (every socket of the sessions it
// serves) and what those sessions may use without a lock because only this
// thread touches it.
#include <boost/asio/io_context.hpp>

#include "rewrite/decision_cache.h"

namespace sy::proxy {

struct Worker {
  rewrite::DecisionCache decisions;  //!< declared first: outlives the sessions parked in io
  boost::asio::io_context io{1};     //!< run by exactly one thread
};

}  // namespace sy::proxy

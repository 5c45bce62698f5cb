#pragma once
// One data-path thread: its io_context (every socket of the sessions it
// serves) and what those sessions may use without a lock because only this
// thread touches it.
#include <boost/asio/io_context.hpp>

#include <memory>

#include "proxy/shadow/shadow_runner.h"
#include "rewrite/decision_cache.h"

namespace sy::proxy {

struct Worker {
  rewrite::DecisionCache decisions;  //!< declared first: outlives the sessions parked in io
  //! Shadow reads of this worker's sessions; outlives the lanes parked in io.
  std::unique_ptr<ShadowRunner> shadow;
  boost::asio::io_context io{1};     //!< run by exactly one thread
};

}  // namespace sy::proxy

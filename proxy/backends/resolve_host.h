#pragma once
// The IP to hand libpq (`hostaddr`) and Connector/C (`host`), so neither runs
// its own getaddrinfo, which would block the worker thread mid-connect.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <string>
#include <vector>

namespace sy::proxy {

struct ResolvedHost {
  std::string ip;     //!< the first address; empty on failure
  std::string error;  //!< why not, when ip is empty
  std::vector<boost::asio::ip::address> all;  //!< every address, in the resolver's order
};

//! An IP literal is returned as it is. A name is resolved on Asio's resolver
//! thread; if `deadline` passes first the caller gets an error and the lookup
//! finishes unobserved in the background.
boost::asio::awaitable<ResolvedHost> resolve_host(boost::asio::any_io_executor ex, const std::string& host,
                                                  std::chrono::steady_clock::time_point deadline);

}  // namespace sy::proxy

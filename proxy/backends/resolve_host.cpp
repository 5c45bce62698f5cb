#include "proxy/backends/resolve_host.h"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>

namespace sy::proxy {

namespace asio = boost::asio;
using error_code = boost::system::error_code;

asio::awaitable<ResolvedHost> resolve_host(asio::any_io_executor ex, const std::string& host,
                                           std::chrono::steady_clock::time_point deadline) {
  error_code ec;
  if (auto ip = asio::ip::make_address(host, ec); !ec) co_return ResolvedHost{ip.to_string(), {}, {ip}};
  // The lookup and the deadline race; the resolver and the answer live in
  // shared state because the loser completes after this coroutine returned.
  struct Lookup {
    explicit Lookup(asio::any_io_executor ex) : resolver(ex), wake(ex, asio::steady_timer::time_point::max()) {}
    asio::ip::tcp::resolver resolver;
    asio::steady_timer wake;
    bool done = false;
    ResolvedHost answer;
  };
  auto lookup = std::make_shared<Lookup>(ex);
  lookup->resolver.async_resolve(host, "", [lookup, host](error_code e, asio::ip::tcp::resolver::results_type r) {
    lookup->done = true;
    if (e || r.empty())
      lookup->answer.error = "cannot resolve " + host + ": " + (e ? e.message() : "no address");
    else
      lookup->answer.ip = r.begin()->endpoint().address().to_string();
    for (const auto& e : r) lookup->answer.all.push_back(e.endpoint().address());
    lookup->wake.cancel();
  });
  asio::steady_timer timer(ex, deadline);
  timer.async_wait([lookup](error_code e) {
    if (!e) lookup->wake.cancel();
  });
  co_await lookup->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  timer.cancel();
  if (!lookup->done) co_return ResolvedHost{{}, "resolving " + host + " timed out", {}};
  co_return lookup->answer;
}

}  // namespace sy::proxy

#include "proxy/net/task_group.h"

#include <boost/asio/co_spawn.hpp>

#include "proxy/telemetry/log.h"

namespace sy::proxy {

namespace {
std::string what_of(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return ex.what();
  } catch (...) {
    return "unknown exception";
  }
}
}  // namespace

TaskGroup::TaskGroup(boost::asio::any_io_executor ex, std::string who, std::function<void()> on_crash)
    : ex_(ex), who_(std::move(who)), on_crash_(std::move(on_crash)), ended_(ex) {}

void TaskGroup::spawn(const char* name, std::shared_ptr<void> owner,
                      std::function<boost::asio::awaitable<void>()> task) {
  ++running_;
  boost::asio::co_spawn(ex_, std::move(task), [this, name, owner = std::move(owner)](std::exception_ptr e) {
    if (e) {
      log::Event(log::Level::err, "session_crashed").str("client", who_).str("loop", name).str("error", what_of(e));
      if (on_crash_) on_crash_();
    }
    --running_;
    ended_.notify();
  });
}

boost::asio::awaitable<void> TaskGroup::join() {
  while (running_ > 0) co_await ended_.wait();
}

void spawn_logged(const boost::asio::any_io_executor& ex, const char* name,
                  std::function<boost::asio::awaitable<void>()> task) {
  boost::asio::co_spawn(ex, std::move(task), [name](std::exception_ptr e) {
    if (e) log::Event(log::Level::err, "task_crashed").str("task", name).str("error", what_of(e));
  });
}

}  // namespace sy::proxy

#pragma once
// The coroutines of one session, started together and awaited together. An
// exception in any of them is caught at its co_spawn boundary, logged as
// `session_crashed` and handed to `on_crash` (which closes both sides, so the
// others end too); it never vanishes the way a detached coroutine's does.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <functional>
#include <memory>
#include <string>

#include "proxy/net/wakeup.h"

namespace sy::proxy {

class TaskGroup {
 public:
  //! `who` names the session in the crash log line.
  TaskGroup(boost::asio::any_io_executor ex, std::string who, std::function<void()> on_crash);

  //! Starts `task`; `name` says which loop it is in the log. `owner` (the
  //! session) is kept alive until the task's end has been counted.
  void spawn(const char* name, std::shared_ptr<void> owner, std::function<boost::asio::awaitable<void>()> task);

  //! Returns when every task spawned so far has ended.
  boost::asio::awaitable<void> join();


 private:
  boost::asio::any_io_executor ex_;
  std::string who_;
  std::function<void()> on_crash_;
  size_t running_ = 0;
  Wakeup ended_;
};

//! co_spawn with the same containment for a coroutine that belongs to no
//! session (an accept loop, the admin server): a throw is logged as
//! `task_crashed` with `name`, never lost.
void spawn_logged(const boost::asio::any_io_executor& ex, const char* name,
                  std::function<boost::asio::awaitable<void>()> task);

}  // namespace sy::proxy

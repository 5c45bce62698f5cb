#pragma once
// Structured JSON logging: one object per line, through spdlog. Call sites build
// an Event and it is written when the Event goes out of scope:
//   log::Event(log::Level::warn, "backend_error").str("target", t).str("reason", why);
#include <spdlog/common.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace sy::log {

using Level = spdlog::level::level_enum;

//! Sends JSON lines to stderr at `level` ("trace" ... "error"). Safe to call again.
void init(const std::string& level);
void set_level(const std::string& level);

//! Appends `s` to `out` as a JSON string literal, quotes included.
void append_json_string(std::string& out, std::string_view s);

class Event {
 public:
  //! `event` names what happened; SPEC log categories go in "category" instead.
  Event(Level level, std::string_view event);
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  ~Event();

  Event& str(std::string_view key, std::string_view value);
  Event& num(std::string_view key, int64_t value);
  Event& category(std::string_view value) { return str("category", value); }
  //! A member whose value is already JSON (an object built with append_json_string).
  Event& raw(std::string_view key, std::string_view json);

  struct Line;  //!< a rapidjson Writer and its buffer, reused across Events (log.cpp)

 private:
  Level level_;
  Line* line_;  //!< null when the level is off: then every member is a no-op
};

}  // namespace sy::log

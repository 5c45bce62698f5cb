#include "proxy/telemetry/log.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <iterator>

namespace sy::log {

namespace {
// The seeds' log format names levels INFO | WARN | ERROR; spdlog's own names
// are lower case and say "warning" and "critical".
class SeedsLevel final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    static constexpr std::string_view kNames[] = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL", "OFF"};
    auto name = kNames[std::min<size_t>(static_cast<size_t>(msg.level), std::size(kNames) - 1)];
    dest.append(name.data(), name.data() + name.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<SeedsLevel>(); }
};
}  // namespace

void init(const std::string& level) {
  auto logger = spdlog::get("switchyard");
  if (!logger) {
    logger = spdlog::stderr_logger_mt("switchyard");
    // The message is already a run of JSON members; the pattern only adds the
    // timestamp and level, so every line is one well-formed object.
    auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    formatter->add_flag<SeedsLevel>('L').set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%L",%v})");
    logger->set_formatter(std::move(formatter));
    logger->flush_on(spdlog::level::warn);
    spdlog::set_default_logger(logger);
    spdlog::flush_every(std::chrono::seconds(1));
  }
  set_level(level);
}

void set_level(const std::string& level) { spdlog::set_level(spdlog::level::from_str(level)); }

void append_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(ch);
        }
    }
  }
  out.push_back('"');
}

Event::Event(Level level, std::string_view event) : level_(level), enabled_(spdlog::should_log(level)) {
  if (!enabled_) return;
  body_.reserve(160);
  body_ += "\"event\":";
  append_json_string(body_, event);
}

Event::~Event() {
  if (enabled_) spdlog::log(level_, "{}", body_);
}

void Event::key(std::string_view k) {
  body_.push_back(',');
  append_json_string(body_, k);
  body_.push_back(':');
}

Event& Event::str(std::string_view k, std::string_view value) {
  if (!enabled_) return *this;
  key(k);
  append_json_string(body_, value);
  return *this;
}

Event& Event::raw(std::string_view k, std::string_view json) {
  if (!enabled_) return *this;
  key(k);
  body_ += json;
  return *this;
}

Event& Event::num(std::string_view k, int64_t value) {
  if (!enabled_) return *this;
  key(k);
  body_ += std::to_string(value);
  return *this;
}

}  // namespace sy::log

#include "proxy/telemetry/log.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <iterator>
#include <utility>

#include "proxy/telemetry/json_writer.h"

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

namespace {
// rapidjson writes through an output stream; this one appends to a std::string.
struct StringAppender {
  using Ch = char;
  std::string& out;
  void Put(char c) { out.push_back(c); }
  void Flush() {}
};
}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  StringAppender to{out};
  // A lone string at the root: the Writer's level stack is never touched, so
  // this allocates nothing beyond `out` itself.
  rapidjson::Writer<StringAppender> writer(to);
  json::string(writer, s);
}

struct Event::Line {
  rapidjson::StringBuffer buffer;
  json::Writer writer{buffer};
  Line* next_spare = nullptr;
};

namespace {
// Events are on the per-statement path, so their Lines are recycled: each
// thread keeps a few spare ones (buffer and level stack keep their capacity),
// and an Event allocates nothing once its thread has logged before. Per thread,
// so no lock; an Event that ends on another thread (a coroutine resumed
// elsewhere) just gives its Line to that thread.
class SpareLines {
 public:
  ~SpareLines() {
    gone_ = true;
    while (head_) delete std::exchange(head_, head_->next_spare);
  }
  static Event::Line* take() {
    if (gone_) return new Event::Line;
    auto& self = mine();
    if (!self.head_) return new Event::Line;
    --self.count_;
    return std::exchange(self.head_, self.head_->next_spare);
  }
  static void give(Event::Line* line) {
    // A Line that grew for one huge event is not kept around.
    if (gone_ || mine().count_ >= kKeep || line->buffer.GetSize() > kKeepBytes) {
      delete line;
      return;
    }
    line->buffer.Clear();
    line->writer.Reset(line->buffer);
    auto& self = mine();
    line->next_spare = std::exchange(self.head_, line);
    ++self.count_;
  }

 private:
  static constexpr int kKeep = 4;  // Events alive at once on one thread: nested ones are rare
  static constexpr size_t kKeepBytes = 64 * 1024;
  static SpareLines& mine() {
    thread_local SpareLines lines;
    return lines;
  }
  // Set once the thread's pool is destroyed (an Event logged from a
  // thread-exit or static destructor after that allocates its own Line).
  static thread_local bool gone_;
  Event::Line* head_ = nullptr;
  int count_ = 0;
};
thread_local bool SpareLines::gone_ = false;

}  // namespace

Event::Event(Level level, std::string_view event)
    : level_(level), line_(spdlog::should_log(level) ? SpareLines::take() : nullptr) {
  if (!line_) return;
  line_->writer.StartObject();
  str("event", event);
}

Event::~Event() {
  if (!line_) return;
  line_->writer.EndObject();
  // The pattern set in init() supplies the braces around ts and level, so
  // the message is the object's members without its own braces.
  std::string_view object(line_->buffer.GetString(), line_->buffer.GetSize());
  spdlog::log(level_, "{}", object.substr(1, object.size() - 2));
  SpareLines::give(line_);
}

Event& Event::str(std::string_view k, std::string_view value) {
  if (!line_) return *this;
  json::member(line_->writer, k, value);
  return *this;
}

Event& Event::raw(std::string_view k, std::string_view json) {
  if (!line_) return *this;
  json::key(line_->writer, k);
  // The type only feeds the Writer's bookkeeping; the text is copied as is.
  line_->writer.RawValue(json.data(), json.size(), rapidjson::kObjectType);
  return *this;
}

Event& Event::num(std::string_view k, int64_t value) {
  if (!line_) return *this;
  json::key(line_->writer, k);
  line_->writer.Int64(value);
  return *this;
}

}  // namespace sy::log

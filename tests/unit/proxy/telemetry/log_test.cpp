#include "proxy/telemetry/log.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>
#include <string>
#include <thread>

using namespace sy;  // log:: is sy::log here, not the C function

namespace {
// Routes Events to a string, with the message alone (init() adds ts and level
// around it in the proxy), and puts the previous default logger back.
class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    previous_ = spdlog::default_logger();
    auto logger = std::make_shared<spdlog::logger>("log_test", std::make_shared<spdlog::sinks::ostream_sink_st>(out_));
    logger->set_pattern("%v");
    spdlog::set_default_logger(logger);
    spdlog::set_level(spdlog::level::info);
  }
  void TearDown() override { spdlog::set_default_logger(previous_); }
  std::string lines() { return out_.str(); }

  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> previous_;
};
}  // namespace

TEST_F(LogTest, MembersInCallOrder) {
  log::Event(log::Level::warn, "backend_error").category("SHADOW_ERROR").str("target", "legacy").num("n", -42).raw(
      "transition", R"({"legacy":"a","unified":"B"})");
  EXPECT_EQ(lines(),
            R"("event":"backend_error","category":"SHADOW_ERROR","target":"legacy","n":-42,)"
            R"("transition":{"legacy":"a","unified":"B"})"
            "\n");
}

TEST_F(LogTest, StringsAreEscaped) {
  log::Event(log::Level::info, "e").str("k\"", std::string("q\"b\\s\n\t\x01\0z", 10)).str("utf8", "é").str("empty", {});
  EXPECT_EQ(lines(), R"("event":"e","k\"":"q\"b\\s\n\t\u0001\u0000z","utf8":"é","empty":"")"
                     "\n");
}

TEST_F(LogTest, BelowTheLevelNothingIsWritten) {
  log::Event(log::Level::debug, "quiet").str("a", "b").num("n", 1);
  EXPECT_EQ(lines(), "");
}

// An Event built while another is open on the same thread (a value computed
// by code that logs) gets its own buffer.
TEST_F(LogTest, NestedEventsDoNotMix) {
  {
    log::Event outer(log::Level::info, "outer");
    outer.str("a", "1");
    log::Event(log::Level::info, "inner").str("b", "2");
    outer.str("c", "3");
  }
  log::Event(log::Level::info, "after").num("d", 4);
  EXPECT_EQ(lines(), "\"event\":\"inner\",\"b\":\"2\"\n\"event\":\"outer\",\"a\":\"1\",\"c\":\"3\"\n"
                     "\"event\":\"after\",\"d\":4\n");
}

TEST_F(LogTest, ALargeEventAndManyThreads) {
  std::string big(100000, 'x');
  log::Event(log::Level::info, "big").str("v", big);
  log::Event(log::Level::info, "small");
  std::thread t([] { log::Event(log::Level::info, "thread").num("n", 1); });
  t.join();
  EXPECT_EQ(lines(), "\"event\":\"big\",\"v\":\"" + big + "\"\n\"event\":\"small\"\n\"event\":\"thread\",\"n\":1\n");
}

TEST(AppendJsonString, QuotesAndEscapes) {
  std::string out = "x=";
  log::append_json_string(out, "a\"b\\c\x1f");
  log::append_json_string(out, {});
  EXPECT_EQ(out, R"(x="a\"b\\c\u001F""")");
}

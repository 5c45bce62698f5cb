#include "proxy/cli/command_line.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

using sy::cli::parse_command_line;

namespace {
struct Run {
  sy::cli::Parsed parsed;
  std::string out, err;
};

Run parse(std::vector<const char*> args) {
  args.insert(args.begin(), "switchyard");
  std::ostringstream out, err;
  auto parsed = parse_command_line(static_cast<int>(args.size()), args.data(), "9.9.9", out, err);
  return {std::move(parsed), out.str(), err.str()};
}
}  // namespace

TEST(CommandLine, Explain) {
  auto r = parse({"explain", "-c", "f.yaml", "--tenant", "acme", "--phase", "cleanup", "--dialect", "mysql", "--json",
                  "UPDATE t SET s = 1"});
  ASSERT_TRUE(r.parsed.line) << r.err;
  const auto& l = *r.parsed.line;
  EXPECT_EQ(l.command, "explain");
  EXPECT_EQ(l.config, "f.yaml");
  EXPECT_EQ(l.tenant, "acme");
  EXPECT_EQ(l.phase, "cleanup");
  EXPECT_EQ(l.dialect, "mysql");
  EXPECT_TRUE(l.json);
  EXPECT_EQ(l.sql, "UPDATE t SET s = 1");
}

TEST(CommandLine, BackfillOptionsAndDefaults) {
  auto r = parse({"backfill", "--config", "f.yaml", "--tenant", "acme"});
  ASSERT_TRUE(r.parsed.line) << r.err;
  EXPECT_EQ(r.parsed.line->backfill.batch, 1000u);
  EXPECT_EQ(r.parsed.line->backfill.sleep_ms, 0u);
  EXPECT_EQ(r.parsed.line->backfill.tenant, "acme");

  r = parse({"backfill", "-c", "f.yaml", "--tenant", "acme", "--batch", "0250", "--sleep-ms", "010", "--key", "id",
             "--target", "replica", "--progress", "p.json", "--restart"});
  ASSERT_TRUE(r.parsed.line) << r.err;
  const auto& b = r.parsed.line->backfill;
  EXPECT_EQ(b.batch, 250u);  // decimal, not octal
  EXPECT_EQ(b.sleep_ms, 10u);
  EXPECT_EQ(b.key, "id");
  EXPECT_EQ(b.target, "replica");
  EXPECT_EQ(b.progress, "p.json");
  EXPECT_TRUE(b.restart);
}

TEST(CommandLine, Bucket) {
  auto r = parse({"bucket", "--tenant", "acme", "k1", "--percent", "12.5", "k2"});
  ASSERT_TRUE(r.parsed.line) << r.err;
  EXPECT_EQ(r.parsed.line->percent, 12.5);
  EXPECT_EQ(r.parsed.line->keys, (std::vector<std::string>{"k1", "k2"}));
  r = parse({"bucket", "--tenant", "acme", "k"});
  ASSERT_TRUE(r.parsed.line) << r.err;
  EXPECT_LT(r.parsed.line->percent, 0);  // not given
}

TEST(CommandLine, UsageErrorsExit2WithTheReason) {
  for (const auto& [args, reason] : std::vector<std::pair<std::vector<const char*>, std::string>>{
           {{}, "Subcommands:"},
           {{"nope"}, "unknown command \"nope\""},
           {{"run"}, "--config is required"},
           {{"run", "-c", "f", "--tenant", "x"}, "--tenant"},
           {{"bucket", "--tenant", "t", "--percent", "x", "k"}, "expected a number from 0 to 100"},
           {{"bucket", "--tenant", "t", "--percent", "0.001", "k"}, "steps of 0.01"},
           {{"backfill", "-c", "f", "--tenant", "t", "--batch", "0"}, "not in range"},
           {{"backfill", "-c", "f", "--tenant", "t", "--sleep-ms", "0x10"}, "expected a whole number"},
       }) {
    auto r = parse(args);
    EXPECT_FALSE(r.parsed.line);
    EXPECT_EQ(r.parsed.exit_status, 2);
    EXPECT_NE(r.err.find(reason), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "");
  }
}

TEST(CommandLine, HelpAndVersionExit0OnStdout) {
  auto r = parse({"verify", "--help"});
  EXPECT_FALSE(r.parsed.line);
  EXPECT_EQ(r.parsed.exit_status, 0);
  EXPECT_NE(r.out.find("Usage: switchyard verify"), std::string::npos) << r.out;
  r = parse({"--version"});
  EXPECT_EQ(r.parsed.exit_status, 0);
  EXPECT_EQ(r.out, "switchyard 9.9.9\n");
}

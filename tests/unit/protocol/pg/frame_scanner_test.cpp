#include "protocol/pg/frame_scanner.h"

#include <gtest/gtest.h>

#include <random>

#include "tests/unit/protocol/pg/message_bytes.h"

using sy::pg::FrameScanner;
using Kind = FrameScanner::Kind;

namespace {

using sy::pg::testing::msg;

struct Event {
  Kind kind;
  char type;
  std::string bytes;
  bool operator==(const Event&) const = default;
};

// Feeds `stream` in chunks of the given sizes, the way socket reads arrive, and
// returns inspected messages whole plus the concatenation of forwarded bytes.
struct Result {
  std::vector<std::string> messages;
  std::string forwarded;  // everything relayed, in order (messages included)
  bool error = false;
};

Result feed(FrameScanner scan, const std::string& stream, const std::vector<size_t>& chunks) {
  Result r;
  std::string pending;
  size_t pos = 0, chunk = 0;
  while (pos < stream.size() || !pending.empty()) {
    if (pos < stream.size()) {
      size_t n = std::min(chunks[chunk++ % chunks.size()], stream.size() - pos);
      pending.append(stream, pos, n);
      pos += n;
    }
    for (;;) {
      auto s = scan.next(pending);
      if (s.kind == Kind::NeedMore) break;
      if (s.kind == Kind::Error) {
        r.error = true;
        return r;
      }
      if (s.kind == Kind::Message) r.messages.push_back(pending.substr(0, s.size));
      r.forwarded += pending.substr(0, s.size);
      pending.erase(0, s.size);
    }
    if (pos >= stream.size()) break;
  }
  return r;
}

FrameScanner frontend() {
  FrameScanner s(1 << 16);
  s.inspect('Q');
  s.inspect('P');
  return s;
}

}  // namespace

TEST(FrameScanner, SplitFeedMatchesWholeFeed) {
  std::string stream = msg('Q', std::string("SELECT 1;\0", 10)) + msg('d', std::string(5000, 'x')) +
                       msg('P', std::string("s1\0UPDATE orders SET status = $1\0\0\0", 36)) + msg('S', "") +
                       msg('X', "");
  auto whole = feed(frontend(), stream, {stream.size()});
  ASSERT_FALSE(whole.error);
  EXPECT_EQ(whole.forwarded, stream);
  ASSERT_EQ(whole.messages.size(), 2u);
  for (size_t chunk : {1, 2, 3, 5, 7, 64, 4999}) {
    auto split = feed(frontend(), stream, {chunk});
    EXPECT_EQ(split.messages, whole.messages) << "chunk " << chunk;
    EXPECT_EQ(split.forwarded, stream) << "chunk " << chunk;
  }
}

TEST(FrameScanner, RandomSplitsProperty) {
  std::mt19937 rng(42);
  for (int iter = 0; iter < 200; ++iter) {
    std::string stream;
    std::vector<std::string> expected;
    int count = 1 + int(rng() % 20);
    for (int i = 0; i < count; ++i) {
      const char types[] = {'Q', 'P', 'B', 'E', 'S', 'd', 'D'};
      char t = types[rng() % sizeof types];
      std::string body(rng() % 300, char('a' + rng() % 26));
      auto m = msg(t, body);
      if (t == 'Q' || t == 'P') expected.push_back(m);
      stream += m;
    }
    std::vector<size_t> chunks;
    for (int i = 0; i < 16; ++i) chunks.push_back(1 + rng() % 97);
    auto r = feed(frontend(), stream, chunks);
    ASSERT_FALSE(r.error);
    EXPECT_EQ(r.messages, expected);
    EXPECT_EQ(r.forwarded, stream);
  }
}

TEST(FrameScanner, StreamsLargeUninspectedMessagesWithoutBuffering) {
  auto scan = frontend();
  std::string big = msg('d', std::string(1 << 20, 'z'));
  // Only the header and a sliver are available: the scanner forwards them at once.
  auto s = scan.next(std::string_view(big).substr(0, 100));
  EXPECT_EQ(s.kind, Kind::Forward);
  EXPECT_EQ(s.size, 100u);
  EXPECT_FALSE(scan.at_boundary());
  s = scan.next(std::string_view(big).substr(100));
  EXPECT_EQ(s.kind, Kind::Forward);
  EXPECT_EQ(s.size, big.size() - 100);
  EXPECT_TRUE(scan.at_boundary());
}

TEST(FrameScanner, InspectedMessageOverLimitIsAnError) {
  FrameScanner scan(100);
  scan.inspect('Q');
  auto q = msg('Q', std::string(200, 'x'));
  auto s = scan.next(std::string_view(q).substr(0, 5));
  EXPECT_EQ(s.kind, Kind::Error);
  EXPECT_NE(s.error.find("exceeds the limit"), std::string::npos);
}

TEST(FrameScanner, AbsurdLengthsAreErrors) {
  auto scan = frontend();
  std::string two_gib("Q\x80\x00\x00\x00", 5);
  EXPECT_EQ(scan.next(two_gib).kind, Kind::Error);
  std::string short_len("d\x00\x00\x00\x03", 5);
  EXPECT_EQ(frontend().next(short_len).kind, Kind::Error);
  std::string huge_stream("d\x7f\xff\xff\xff", 5);
  EXPECT_EQ(frontend().next(huge_stream).kind, Kind::Error);
}

TEST(FrameScanner, NeedsFiveBytesForAHeader) {
  auto scan = frontend();
  EXPECT_EQ(scan.next(std::string_view("Q\0\0", 3)).kind, Kind::NeedMore);
  EXPECT_EQ(scan.next("").kind, Kind::NeedMore);
}

TEST(FrameScanner, SmallMessagesOfAnInspectIfSmallTypeComeWhole) {
  FrameScanner scan(1 << 20);
  scan.inspect_if_small('B', 100);
  auto small = msg('B', std::string(50, 'p'));
  auto large = msg('B', std::string(5000, 'q'));
  std::string stream = small + large + small;
  for (size_t chunk : {1, 3, 64, 10000}) {
    auto r = feed(scan, stream, {chunk});
    ASSERT_FALSE(r.error);
    EXPECT_EQ(r.forwarded, stream);
    // The large one streams through in pieces: never an error, never buffered whole.
    EXPECT_EQ(r.messages, (std::vector<std::string>{small, small})) << "chunk " << chunk;
  }
}

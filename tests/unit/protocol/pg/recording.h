#pragma once
// Replays a recording made by recordings/record.py (one record per socket
// read: 'F' or 'B', a big-endian length, the bytes) through a FrameScanner
// per direction and a RequestTracker, the way a proxy session would, and
// checks as it goes what must hold whatever the client did.
#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/common/bytes.h"
#include "protocol/pg/frame_scanner.h"
#include "protocol/pg/request_tracker.h"
#include "protocol/pg/startup.h"

namespace sy::pg::testing {

struct Read {
  bool from_client = false;
  std::string bytes;
};

inline std::vector<Read> load_recording(const std::string& name) {
  std::ifstream in(std::string(SY_PG_RECORDINGS_DIR) + "/" + name, std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<Read> reads;
  size_t pos = 0;
  while (pos + 5 <= data.size()) {
    uint32_t n = proto::load_be32(data.data() + pos + 1);
    reads.push_back({data[pos] == 'F', data.substr(pos + 5, n)});
    pos += 5 + n;
  }
  EXPECT_FALSE(reads.empty()) << "cannot read recording " << name;
  return reads;
}

enum class Feed {
  AsRecorded,   //!< in the reads the tee made; every message whole
  ByteAtATime,  //!< one byte per read; every message whole
  Streamed,     //!< one byte per read; only what the tracker reads whole, the rest in pieces
};

// Which request kinds may a server message type answer? Written from the
// protocol documentation, independently of the tracker's state machine.
inline bool may_answer(char type, RequestKind k) {
  using K = RequestKind;
  const bool describe = k == K::DescribeStatement || k == K::DescribePortal;
  const bool runs = k == K::Query || k == K::Execute;
  switch (type) {
    case '1': return k == K::Parse;
    case '2': return k == K::Bind;
    case '3': return k == K::CloseStatement || k == K::ClosePortal;
    case 't': return k == K::DescribeStatement;
    case 'n': return describe;
    case 'T': return describe || k == K::Query;
    case 'D': case 'C': case 'I': case 'G': case 'H': case 'W': case 'd': case 'c': return runs;
    case 's': return k == K::Execute;
    case 'V': return k == K::FunctionCall;
    case 'Z': return k == K::Query || k == K::Sync || k == K::FunctionCall;
    case 'E': return true;
    default: return false;
  }
}

class Replay {
 public:
  explicit Replay(Feed feed) : feed_(feed) {
    for (auto* s : {&client_scan_, &server_scan_})
      for (int t = 0; t < 256; ++t) s->inspect(char(t), feed != Feed::Streamed);
    for (char t : kTrackerReadsClient) client_scan_.inspect(t);
    for (char t : kTrackerReadsServer) server_scan_.inspect(t);
  }

  void run(const std::vector<Read>& reads) {
    for (const auto& r : reads) {
      if (feed_ == Feed::AsRecorded) {
        read(r.from_client, r.bytes);
      } else {
        for (char c : r.bytes) read(r.from_client, std::string_view(&c, 1));
      }
    }
  }

  RequestTracker tracker;
  std::vector<std::string> trace;               //!< one line per event, to compare feeds
  std::map<RequestId, Request> settled;         //!< every request, as it finally stood
  std::string statuses;                         //!< the status byte of every ReadyForQuery
  RequestId last_id = 0;
  bool allow_lost = false;                      //!< a recording where the tracker must give up
  bool idle_seen_with_syncs = false;            //!< idle() with Syncs outstanding: must never be

 private:
  void read(bool from_client, std::string_view bytes) {
    std::string& buf = from_client ? client_buf_ : server_buf_;
    FrameScanner& scan = from_client ? client_scan_ : server_scan_;
    buf.append(bytes);
    if (from_client && !started_) {  // the untyped startup packet
      auto st = decode_startup(buf);
      if (st.status == DecodeStatus::NeedMore) return;
      ASSERT_EQ(st.status, DecodeStatus::Ok);
      buf.erase(0, st.consumed);
      started_ = true;
    }
    for (;;) {
      const bool at_start = scan.at_boundary();
      auto step = scan.next(buf);
      ASSERT_NE(step.kind, FrameScanner::Kind::Error) << step.error;
      if (step.kind == FrameScanner::Kind::NeedMore) return;
      if (at_start) message(from_client, std::string_view(buf).substr(0, step.size));
      buf.erase(0, step.size);
    }
  }

  // The start of one message (all of it unless streamed in pieces).
  void message(bool from_client, std::string_view m) {
    const char type = m[0];
    if (!ready_) {  // startup: the session's, not the tracker's, up to the first ReadyForQuery
      ASSERT_FALSE(from_client) << "the recordings authenticate without passwords";
      ready_ = type == 'Z';
      return;
    }
    if (tracker.lost()) return;
    std::ostringstream line;
    if (from_client) {
      Sent s = tracker.client_message(m);
      line << "F " << type;
      if (s.request) {
        EXPECT_EQ(s.request->id, last_id + 1);
        last_id = s.request->id;
        line << " #" << s.request->id << ' ' << to_string(s.request->kind) << " '" << s.request->statement
             << "' '" << s.request->portal << "'";
      }
      settle(s.finished, line);
    } else {
      Reply r = tracker.server_message(m);
      line << "B " << type;
      if (allow_lost && r.role == ReplyRole::Lost) return;
      ASSERT_NE(r.role, ReplyRole::Lost) << "lost at server message " << type << ": " << tracker.lost_reason();
      if (r.role == ReplyRole::Async) {
        EXPECT_TRUE(type == 'N' || type == 'S' || type == 'A') << type;
        line << " async";
      } else {
        EXPECT_TRUE(may_answer(type, r.request->kind)) << type << " for " << to_string(r.request->kind);
        EXPECT_GE(r.request->id, answering_) << "answers come in request order";
        answering_ = r.request->id;
        line << " -> #" << r.request->id << (r.last ? " last" : "");
      }
      if (type == 'Z') {
        statuses += m[5];
        const char expect[] = {'I', 'T', 'E'};
        EXPECT_EQ(expect[int(tracker.transaction())], m[5]);
      }
      settle(r.finished, line);
    }
    if (tracker.idle() && tracker.pending_syncs() > 0) idle_seen_with_syncs = true;
    trace.push_back(line.str());
  }

  void settle(std::span<const Request> finished, std::ostringstream& line) {
    for (const auto& f : finished) {
      EXPECT_NE(f.outcome, Outcome::Pending);
      EXPECT_TRUE(settled.emplace(f.id, f).second) << "request #" << f.id << " settled twice";
      line << " | #" << f.id << ' ' << to_string(f.outcome);
    }
  }

  Feed feed_;
  FrameScanner client_scan_{1 << 20};
  FrameScanner server_scan_{1 << 20};
  std::string client_buf_, server_buf_;
  bool started_ = false;
  bool ready_ = false;
  RequestId answering_ = 0;
};

//! "Kind:Outcome" -> how many, over every request of a replay.
inline std::map<std::string, int> outcome_counts(const Replay& r) {
  std::map<std::string, int> counts;
  for (const auto& [id, req] : r.settled)
    ++counts[std::string(to_string(req.kind)) + ":" + std::string(to_string(req.outcome))];
  return counts;
}

}  // namespace sy::pg::testing

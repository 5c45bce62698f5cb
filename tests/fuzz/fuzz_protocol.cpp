// libFuzzer target for the socket-free decoders of both wire protocols. Every
// byte a client or server sends reaches one of these first, so none may
// crash, read out of bounds or loop on any input. The first input byte picks
// the decoder; the rest is the bytes on the wire.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "protocol/common/bytes.h"
#include "protocol/mysql/handshake.h"
#include "protocol/mysql/packet.h"
#include "protocol/mysql/packet_scanner.h"
#include "protocol/mysql/response_tracker.h"
#include "protocol/pg/extended.h"
#include "protocol/pg/frame_scanner.h"
#include "protocol/pg/messages.h"
#include "protocol/pg/request_tracker.h"
#include "protocol/pg/result_rows.h"
#include "protocol/pg/startup.h"

namespace {

void require(bool ok) {
  if (!ok) __builtin_trap();
}

// Feeds `in` to a scanner the way a session does, in reads of varying size,
// and checks that every step stays inside what was given.
template <class Scanner, class OnStep>
void scan(Scanner& s, std::string_view in, size_t chunk, OnStep on_step) {
  std::string buf;
  size_t fed = 0;
  for (int guard = 0; guard < 100000; ++guard) {
    auto step = s.next(buf);
    if (step.kind == Scanner::Kind::Error) return;
    if (step.kind == Scanner::Kind::NeedMore) {
      if (fed == in.size()) return;
      size_t n = std::min(chunk, in.size() - fed);
      buf.append(in.substr(fed, n));
      fed += n;
      continue;
    }
    require(step.size > 0 && step.size <= buf.size());
    on_step(step, std::string_view(buf).substr(0, step.size));
    buf.erase(0, step.size);
  }
}

void pg(std::string_view in, size_t chunk) {
  auto st = sy::pg::decode_startup(in);
  if (st.status == sy::pg::DecodeStatus::Ok) require(st.consumed > 0 && st.consumed <= in.size());
  sy::pg::FrameScanner s(4096);
  s.inspect('Q');
  s.inspect('P');
  s.inspect('R');
  s.inspect('K');
  s.inspect('B');  // Bind, for shadow parameters
  s.inspect_if_small('D', 1024);  // DataRow and CommandComplete, kept for a shadow's compare
  s.inspect_if_small('C', 1024);
  scan(s, in, chunk, [](const auto& step, std::string_view bytes) {
    if (step.kind != sy::pg::FrameScanner::Kind::Message) return;
    (void)sy::pg::decode_parse(bytes);
    (void)sy::pg::decode_bind(bytes);
    (void)sy::pg::closed_statement(bytes);
    if (auto row = sy::pg::decode_data_row(bytes)) require(row->size() * 4 + 7 <= bytes.size());
    if (auto tag = sy::pg::command_tag(bytes)) require(tag->size() + 6 <= bytes.size());
    (void)sy::pg::decode_backend_key(bytes);
    (void)sy::pg::auth_code(bytes);
    (void)sy::pg::strip_channel_binding(bytes);
    if (auto text = sy::pg::statement_text(bytes))
      (void)sy::pg::with_statement_text(bytes[0], *text, "SELECT 1");
  });
}

// The PostgreSQL request tracker, on messages from both sides: each is
// preceded by a byte whose low bit says who sent it (1: the client). With an
// odd `chunk` it is given only the first piece of each, as a caller that
// streams large messages would.
void pg_tracker(std::string_view in, size_t chunk) {
  constexpr size_t kMaxPending = 64;
  sy::pg::RequestTracker tracker(kMaxPending);
  size_t touched = 0;
  auto touch = [&](const sy::pg::Request* r, std::span<const sy::pg::Request> finished) {
    if (r) touched += r->statement.size() + r->portal.size();  // pointers must still be good
    for (const auto& f : finished) touched += f.statement.size() + size_t(f.outcome);
  };
  while (!in.empty()) {
    const bool from_client = in[0] & 1;
    in.remove_prefix(1);
    size_t size = in.size();
    if (size >= 5) size = std::min<size_t>(size, 1 + size_t(sy::proto::load_be32(in.data() + 1)));
    std::string_view m = in.substr(0, size);
    if (chunk % 2) m = m.substr(0, std::max<size_t>(5, chunk));
    if (from_client) {
      auto s = tracker.client_message(m);
      touch(s.request, s.finished);
    } else {
      auto r = tracker.server_message(m);
      require(r.role != sy::pg::ReplyRole::Answer || r.request != nullptr);
      touch(r.request, r.finished);
    }
    require(tracker.pending() <= kMaxPending && tracker.pending_syncs() <= tracker.pending());
    require(!(tracker.lost() && tracker.idle()));
    in.remove_prefix(size);
  }
  (void)touched;
}

void mysql(std::string_view in, size_t chunk, bool deprecate_eof) {
  (void)sy::mysql::parse_greeting(in);
  if (auto hello = sy::mysql::parse_client_hello(in)) {
    std::string p(in);
    sy::mysql::set_hello_capabilities(p, hello->capabilities);
    (void)sy::mysql::ssl_request_from(p);
  }
  (void)sy::mysql::parse_auth_switch(in);
  (void)sy::mysql::is_sha2_full_auth_request(in);
  sy::mysql::PacketScanner s(4096);
  s.inspect_statements(true);
  s.inspect_small(64);
  sy::mysql::ResponseTracker tracker(deprecate_eof);
  bool at_start = true;
  scan(s, in, chunk, [&](const auto&, std::string_view bytes) {
    if (at_start && bytes.size() >= sy::mysql::kHeaderSize) {
      // Alternate commands and replies so the tracker sees both directions.
      auto payload = bytes.substr(sy::mysql::kHeaderSize);
      if (sy::mysql::sequence_id(bytes.data()) == 0 && !payload.empty())
        tracker.command(static_cast<uint8_t>(payload[0]));
      else
        tracker.server_packet(sy::mysql::payload_length(bytes.data()), payload);
    }
    at_start = s.at_boundary();
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 2, size - 2);
  size_t chunk = 1 + data[1] % 64;
  switch (data[0] % 4) {
    case 0: pg(in, chunk); break;
    case 1: mysql(in, chunk, false); break;
    case 2: mysql(in, chunk, true); break;
    default: pg_tracker(in, chunk); break;
  }
  return 0;
}

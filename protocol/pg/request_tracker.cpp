#include "protocol/pg/request_tracker.h"

#include <optional>

#include "protocol/common/bytes.h"
#include "protocol/pg/frame_scanner.h"
#include "protocol/pg/messages.h"

namespace sy::pg {

namespace {
// Frontend message types (kQuery, kParse, kExecute, kTerminate: messages.h).
constexpr char kBind = 'B';
constexpr char kClose = 'C';
constexpr char kDescribe = 'D';
constexpr char kFlush = 'H';
constexpr char kFunctionCall = 'F';
constexpr char kSync = 'S';
constexpr char kCopyFail = 'f';
// Both directions.
constexpr char kCopyData = 'd';
constexpr char kCopyDone = 'c';
// Backend message types (kReadyForQuery, kErrorResponse: messages.h).
constexpr char kParseComplete = '1';
constexpr char kBindComplete = '2';
constexpr char kCloseComplete = '3';
constexpr char kCommandComplete = 'C';
constexpr char kCopyInResponse = 'G';
constexpr char kCopyOutResponse = 'H';
constexpr char kCopyBothResponse = 'W';
constexpr char kDataRow = 'D';
constexpr char kEmptyQueryResponse = 'I';
constexpr char kFunctionCallResponse = 'V';
constexpr char kNoData = 'n';
constexpr char kNoticeResponse = 'N';
constexpr char kNotificationResponse = 'A';
constexpr char kParameterDescription = 't';
constexpr char kParameterStatus = 'S';
constexpr char kPortalSuspended = 's';
constexpr char kRowDescription = 'T';

struct Header {
  char type;
  std::string_view body;  //!< as much of it as was given
};

std::optional<Header> header(std::string_view m) {
  if (m.size() < 5) return std::nullopt;
  uint32_t len = proto::load_be32(m.data() + 1);
  if (len < 4 || len > kMaxMessageLength) return std::nullopt;
  return Header{m[0], m.substr(5, len - 4)};
}

// Copies the NUL-terminated name at the front of `rest` and steps past it.
void take_name(std::string_view& rest, std::string& out, bool& cut) {
  auto nul = rest.find('\0');
  std::string_view name = rest.substr(0, nul);
  if (nul == std::string_view::npos) {
    cut = true;  // a malformed message (the server answers it with an error) or a first piece
    rest = {};
  } else {
    rest.remove_prefix(nul + 1);
  }
  if (name.size() > RequestTracker::kMaxNameBytes) {
    cut = true;
    name = name.substr(0, RequestTracker::kMaxNameBytes);
  }
  out.assign(name);
}

// The request a frontend message opens, if it is one.
std::optional<Request> request_of(const Header& h) {
  Request r;
  std::string_view rest = h.body;
  switch (h.type) {
    case kQuery: r.kind = RequestKind::Query; break;
    case kFunctionCall: r.kind = RequestKind::FunctionCall; break;
    case kSync: r.kind = RequestKind::Sync; break;
    case kParse:
      r.kind = RequestKind::Parse;
      take_name(rest, r.statement, r.name_cut);
      break;
    case kBind:
      r.kind = RequestKind::Bind;
      take_name(rest, r.portal, r.name_cut);
      take_name(rest, r.statement, r.name_cut);
      break;
    case kExecute:
      r.kind = RequestKind::Execute;
      take_name(rest, r.portal, r.name_cut);
      break;
    case kDescribe:
    case kClose: {
      // Any target byte but 'S' is taken as a portal: the server rejects it
      // with an ErrorResponse, which a portal request accepts like any other.
      bool statement = !rest.empty() && rest[0] == 'S';
      if (!rest.empty()) rest.remove_prefix(1);
      if (h.type == kDescribe) r.kind = statement ? RequestKind::DescribeStatement : RequestKind::DescribePortal;
      else r.kind = statement ? RequestKind::CloseStatement : RequestKind::ClosePortal;
      take_name(rest, statement ? r.statement : r.portal, r.name_cut);
      break;
    }
    default: return std::nullopt;
  }
  return r;
}

// Requests whose reply ends with ReadyForQuery; the rest belong to the
// extended protocol and leave the server waiting for a Sync.
bool ends_with_ready(RequestKind k) {
  return k == RequestKind::Query || k == RequestKind::FunctionCall || k == RequestKind::Sync;
}
}  // namespace

std::string_view to_string(RequestKind kind) {
  switch (kind) {
    case RequestKind::Query: return "Query";
    case RequestKind::Parse: return "Parse";
    case RequestKind::Bind: return "Bind";
    case RequestKind::DescribeStatement: return "DescribeStatement";
    case RequestKind::DescribePortal: return "DescribePortal";
    case RequestKind::Execute: return "Execute";
    case RequestKind::CloseStatement: return "CloseStatement";
    case RequestKind::ClosePortal: return "ClosePortal";
    case RequestKind::Sync: return "Sync";
    case RequestKind::FunctionCall: return "FunctionCall";
  }
  return "?";
}

std::string_view to_string(Outcome outcome) {
  switch (outcome) {
    case Outcome::Pending: return "Pending";
    case Outcome::Completed: return "Completed";
    case Outcome::Failed: return "Failed";
    case Outcome::Skipped: return "Skipped";
  }
  return "?";
}

Sent RequestTracker::client_message(std::string_view message) {
  finished_.clear();
  if (lost_) return {};
  auto h = header(message);
  if (!h) {
    lose("malformed client message header");
    return {};
  }
  switch (h->type) {
    case kCopyDone:
    case kCopyFail:
      // Ends the client's half of a COPY FROM STDIN. Outside one the server
      // drops these (a client still sending after the copy failed).
      copy_in_ = false;
      return {};
    case kCopyData:
    case kFlush:
    case kTerminate:
      return {};  // never answered
    default: break;
  }
  auto r = request_of(*h);
  if (!r) {
    lose("unknown client message type");  // the server ends the session with a FATAL
    return {};
  }
  r->id = ++last_id_;
  if (copy_in_) {
    // The server is reading COPY data: it drops a Sync (libpq sends one after
    // every Execute without knowing it starts a COPY). Any other request it
    // reads in the middle of a message, and so ends the session ("protocol
    // synchronization was lost").
    if (r->kind != RequestKind::Sync) {
      lose("a request in the middle of COPY data: the server ends the session");
      return {};
    }
    return settle_new(std::move(*r), Outcome::Skipped);
  }
  if (skipping_) {
    if (r->kind != RequestKind::Sync) {
      unsynced_ = true;
      return settle_new(std::move(*r), Outcome::Skipped);
    }
    skipping_ = false;
  }
  if (pending_.size() >= max_pending_) {
    lose("too many requests in flight");
    return {};
  }
  unsynced_ = !ends_with_ready(r->kind);
  if (r->kind == RequestKind::Sync) ++syncs_;
  pending_.push_back(std::move(*r));
  return {&pending_.back(), {}};
}

Sent RequestTracker::settle_new(Request r, Outcome outcome) {
  r.outcome = outcome;
  finished_.push_back(std::move(r));
  return {&finished_.back(), finished_};
}

Reply RequestTracker::server_message(std::string_view message) {
  finished_.clear();
  if (lost_) return {};
  auto h = header(message);
  if (!h) return lose("malformed server message header");
  const char t = h->type;
  if (t == kNoticeResponse || t == kParameterStatus || t == kNotificationResponse) return {ReplyRole::Async};
  if (pending_.empty()) {
    // The server sends an unprompted ErrorResponse only when it ends the
    // session (shutdown, idle timeout); it answers nothing.
    if (t == kErrorResponse) return {ReplyRole::Async};
    return lose("server message with no request pending");
  }
  if (t == kErrorResponse) return error();
  if (t == kReadyForQuery) return ready(h->body);
  if (copy_out_) {
    if (t == kCopyData) return answer(false);
    if (t == kCopyDone) {
      copy_out_ = false;
      return answer(false);
    }
    return lose("unexpected server message during COPY TO STDOUT");
  }
  // The server waits for the rest of the client's COPY data before anything else.
  if (copy_in_) return lose("server message while the client still sends COPY data");

  switch (pending_.front().kind) {
    case RequestKind::Query:
      if (t == kRowDescription || t == kDataRow || t == kCommandComplete || t == kEmptyQueryResponse)
        return answer(false);
      break;
    case RequestKind::FunctionCall:
      if (t == kFunctionCallResponse) return answer(false);
      break;
    case RequestKind::Parse:
      if (t == kParseComplete) return answer(true);
      break;
    case RequestKind::Bind:
      if (t == kBindComplete) return answer(true);
      break;
    case RequestKind::CloseStatement:
    case RequestKind::ClosePortal:
      if (t == kCloseComplete) return answer(true);
      break;
    case RequestKind::DescribeStatement:
      if (t == kParameterDescription && !described_) {
        described_ = true;
        return answer(false);
      }
      if (t == kRowDescription || t == kNoData) return answer(true);
      break;
    case RequestKind::DescribePortal:
      if (t == kRowDescription || t == kNoData) return answer(true);
      break;
    case RequestKind::Execute:
      if (t == kDataRow) return answer(false);
      if (t == kCommandComplete || t == kEmptyQueryResponse || t == kPortalSuspended) return answer(true);
      break;
    case RequestKind::Sync: break;  // only ReadyForQuery (or an error before it)
  }
  const RequestKind k = pending_.front().kind;
  if (k == RequestKind::Query || k == RequestKind::Execute) {
    if (t == kCopyOutResponse || t == kCopyBothResponse) copy_out_ = true;
    if (t == kCopyInResponse || t == kCopyBothResponse) return copy_in_started();
    if (t == kCopyOutResponse) return answer(false);
  }
  return lose("server message that does not answer the current request");
}

Reply RequestTracker::answer(bool last) {
  if (!last) return {ReplyRole::Answer, &pending_.front(), false, finished_};
  settle_front(pending_.front().outcome == Outcome::Failed ? Outcome::Failed : Outcome::Completed);
  return {ReplyRole::Answer, &finished_.front(), true, finished_};
}

Reply RequestTracker::copy_in_started() {
  copy_in_ = true;
  // Whatever the client sent after the request that starts the copy, the
  // server now reads as COPY input (see client_message).
  while (pending_.size() > 1) {
    if (pending_[1].kind != RequestKind::Sync)
      return lose("a request in the middle of COPY data: the server ends the session");
    Request r = std::move(pending_[1]);
    pending_.erase(pending_.begin() + 1);
    --syncs_;
    r.outcome = Outcome::Skipped;
    finished_.push_back(std::move(r));
  }
  return {ReplyRole::Answer, &pending_.front(), false, finished_};
}

Reply RequestTracker::error() {
  // Whatever COPY was under way is over: the server drops further copy data.
  copy_in_ = copy_out_ = false;
  Request& front = pending_.front();
  front.outcome = Outcome::Failed;
  // A simple Query, a FunctionCall or a Sync still ends with ReadyForQuery.
  if (ends_with_ready(front.kind)) return {ReplyRole::Answer, &front, false, finished_};
  settle_front(Outcome::Failed);
  skip_until_sync();
  return {ReplyRole::Answer, &finished_.front(), true, finished_};
}

// After an error in an extended-protocol message the server discards every
// message up to the next Sync, which it answers as usual.
void RequestTracker::skip_until_sync() {
  while (!pending_.empty() && pending_.front().kind != RequestKind::Sync) settle_front(Outcome::Skipped);
  if (pending_.empty()) skipping_ = true;  // the Sync is still to come
}

Reply RequestTracker::ready(std::string_view body) {
  if (!ends_with_ready(pending_.front().kind)) return lose("ReadyForQuery that answers no Sync or Query");
  if (copy_in_ || copy_out_) return lose("ReadyForQuery in the middle of a COPY");
  if (body.empty()) return lose("ReadyForQuery without its status");
  switch (body[0]) {
    case 'I': transaction_ = TransactionStatus::Idle; break;
    case 'T': transaction_ = TransactionStatus::InBlock; break;
    case 'E': transaction_ = TransactionStatus::Failed; break;
    default: return lose("ReadyForQuery with an unknown status");
  }
  return answer(true);
}

void RequestTracker::settle_front(Outcome outcome) {
  Request& front = pending_.front();
  if (front.kind == RequestKind::Sync) --syncs_;
  front.outcome = outcome;
  finished_.push_back(std::move(front));
  pending_.pop_front();
  described_ = false;
}

Reply RequestTracker::lose(std::string_view reason) {
  lost_ = true;
  lost_reason_ = reason;
  pending_.clear();
  finished_.clear();
  syncs_ = 0;
  copy_in_ = copy_out_ = skipping_ = false;
  return {};
}

}  // namespace sy::pg

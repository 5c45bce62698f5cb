#pragma once
// Pairs every request a PostgreSQL client sends with the messages the server
// sends back, so the proxy knows at any moment which request a server message
// answers, which requests the server skipped, how many Syncs are in flight,
// the transaction status, and whether the session is idle: every request
// answered up to a ReadyForQuery, the one point where another backend could
// take over.
//
// It follows the relay phase, from the first ReadyForQuery after
// authentication on (the session does the startup itself). It is fed the
// messages of each direction in the order the proxy relays them and never
// touches a socket. It relies on the server answering frontend messages
// strictly in order, which the protocol guarantees.
//
// Bad or unexpected input never throws: the tracker stops following, says so
// (lost(), lost_reason()) and stays that way; a caller then only knows that it
// must not move the session, as Envoy's decoder does once OutOfSync. Memory is
// bounded: at most `max_pending` requests in flight, names cut to
// kMaxNameBytes, and no message is ever buffered here.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sy::pg {

using RequestId = uint64_t;  //!< 1, 2, 3 ... in the order the client sent them

//! The frontend messages that get an answer. Flush, Terminate and the copy
//! messages are not requests: the server answers none of them.
enum class RequestKind : uint8_t {
  Query,              //!< simple protocol, answered up to ReadyForQuery
  Parse,              //!< ParseComplete
  Bind,               //!< BindComplete
  DescribeStatement,  //!< ParameterDescription, then RowDescription or NoData
  DescribePortal,     //!< RowDescription or NoData
  Execute,            //!< rows or COPY, then CommandComplete / EmptyQueryResponse / PortalSuspended
  CloseStatement,     //!< CloseComplete
  ClosePortal,        //!< CloseComplete
  Sync,               //!< ReadyForQuery
  FunctionCall,       //!< FunctionCallResponse, then ReadyForQuery
};

enum class Outcome : uint8_t {
  Pending,    //!< more of its reply may still come
  Completed,  //!< answered in full
  Failed,     //!< answered with an ErrorResponse
  Skipped,    //!< the server discarded it and will never answer it (see Request)
};

//! From the status byte of the last ReadyForQuery: 'I', 'T' or 'E'.
enum class TransactionStatus : uint8_t { Idle, InBlock, Failed };

//! One request as the tracker knows it.
//! A request is Skipped when the server discards it: after an error in an
//! extended-protocol message the server drops everything up to the next Sync;
//! and while it reads COPY FROM STDIN data it drops Flush and Sync (any other
//! request there makes it end the session, and the tracker stops following).
struct Request {
  RequestId id = 0;
  RequestKind kind = RequestKind::Query;
  std::string statement;  //!< Parse, Bind, Describe/Close of a statement ("" is the unnamed one)
  std::string portal;     //!< Bind, Execute, Describe/Close of a portal ("" is the unnamed one)
  bool name_cut = false;  //!< a name was longer than kMaxNameBytes, or ran past the bytes given
  Outcome outcome = Outcome::Pending;
};

//! Where a server message belongs.
enum class ReplyRole : uint8_t {
  Answer,  //!< part of the answer to `Reply::request`
  Async,   //!< NoticeResponse, ParameterStatus, NotificationResponse, or an ErrorResponse
           //!< with nothing pending (the server ending the session): no request's
  Lost,    //!< the tracker could not place it, or had already lost its way
};

//! What the tracker made of one server message. Pointers and spans stay
//! valid until the next call into the tracker.
struct Reply {
  ReplyRole role = ReplyRole::Lost;
  const Request* request = nullptr;   //!< Answer: the request it answers
  bool last = false;                  //!< Answer: the request's reply is complete
  std::span<const Request> finished;  //!< requests this message settled, in order (the answered
                                      //!< one first when `last`, then any it caused to be skipped)
};

//! What the tracker made of one client message. Pointers and spans stay
//! valid until the next call into the tracker.
struct Sent {
  const Request* request = nullptr;   //!< the request it opened; null for messages that are no request
  std::span<const Request> finished;  //!< `request` itself when the server will discard it unanswered
};

std::string_view to_string(RequestKind kind);
std::string_view to_string(Outcome outcome);

//! Message types whose bodies the tracker reads: a caller that streams other
//! messages through in pieces must hand it these whole (FrameScanner::inspect).
//! Of the rest it needs only the first piece (the 5-byte header at least).
inline constexpr std::string_view kTrackerReadsClient = "PBDCE";  //!< statement and portal names
inline constexpr std::string_view kTrackerReadsServer = "Z";      //!< the transaction status

class RequestTracker {
 public:
  //! Requests in flight before it gives up. Real pipelines stay far below;
  //! past it the proxy merely keeps the session where it is.
  static constexpr size_t kDefaultMaxPending = 4096;
  //! Names are kept for identification and logs; PostgreSQL's own limit on
  //! identifiers is 63 bytes and clients use short statement names.
  static constexpr size_t kMaxNameBytes = 128;

  explicit RequestTracker(size_t max_pending = kDefaultMaxPending) : max_pending_(max_pending) {}

  //! A message from the client, from its type byte on: whole, or the first
  //! piece of a streamed one.
  Sent client_message(std::string_view message);

  //! A message from the server, from its type byte on: whole, or the first
  //! piece of a streamed one (ReadyForQuery must be whole).
  Reply server_message(std::string_view message);

  //! Every request answered, up to a ReadyForQuery, and no COPY under way.
  //! With transaction() == Idle this is where another backend may be used.
  bool idle() const {
    return !lost_ && pending_.empty() && !unsynced_ && !skipping_ && !copy_in_ && !copy_out_;
  }
  //! Requests sent and not yet settled.
  size_t pending() const { return pending_.size(); }
  //! Syncs sent and not yet answered by a ReadyForQuery.
  size_t pending_syncs() const { return syncs_; }
  //! The request the server is answering now, or null.
  const Request* current() const { return pending_.empty() ? nullptr : &pending_.front(); }
  //! As of the last ReadyForQuery (frozen once lost).
  TransactionStatus transaction() const { return transaction_; }
  //! It stopped following; nothing it reports from now on is to be trusted.
  bool lost() const { return lost_; }
  //! Why it stopped following (empty while it follows).
  std::string_view lost_reason() const { return lost_reason_; }

 private:
  Reply answer(bool last);
  Reply lose(std::string_view reason);
  Reply error();
  Reply ready(std::string_view body);
  Reply copy_in_started();
  void settle_front(Outcome outcome);
  void skip_until_sync();
  Sent settle_new(Request r, Outcome outcome);

  size_t max_pending_;
  // Requests the server has not finished with, oldest (the one it answers now)
  // first. A deque: requests join at the back and leave at the front.
  std::deque<Request> pending_;
  // Requests settled by the current call, for Reply/Sent to point into;
  // cleared at each call, so never larger than pending_ plus one.
  std::vector<Request> finished_;
  RequestId last_id_ = 0;
  size_t syncs_ = 0;
  TransactionStatus transaction_ = TransactionStatus::Idle;
  bool described_ = false;  //!< the front DescribeStatement had its ParameterDescription
  bool copy_in_ = false;    //!< the server reads COPY data the client has not finished sending
  bool copy_out_ = false;   //!< the server sends COPY data it has not finished
  bool skipping_ = false;   //!< after an error the server drops what the client sends until a Sync
  bool unsynced_ = false;   //!< extended-protocol messages sent since the last Sync or Query
  bool lost_ = false;
  std::string_view lost_reason_;  //!< always a string literal
};

}  // namespace sy::pg

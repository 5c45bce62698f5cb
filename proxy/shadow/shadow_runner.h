#pragma once
// One worker's shadow reads (PostgreSQL and MySQL/MariaDB): the fingerprint book (sampling and
// noise), a bounded queue, and a small pool of proxy-owned connections per
// target, all on the worker's own io_context and touched only by its thread,
// so a client's statement path reaches it without a lock.
//
// A session calls sample() for a read the switch touches and, when it says
// yes, submit() with what the read needs to run again (its text, the
// switched decision, its parameters). submit() never waits: over
// max_inflight, without credentials, or with the target recently down, the
// shadow is dropped and counted. Lanes (at most kLanesPerPool per target)
// take queued shadows in order; each runs
//
//   same server (dual_write, read_switch):
//     BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY (MariaDB: START
//     TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY on a REPEATABLE READ
//     session); <legacy form>; <switched form>; [<served form> again: the
//     self-check]; COMMIT
//   shadow.target on another server (dual_write, read_switch, cleanup):
//     the served form in such a transaction on the target, then compared
//     with the client's own answer when its session kept it (PostgreSQL,
//     text results), else with the same read on the primary; a mismatch is
//     looked at again on both, twice, after growing pauses, and counts only
//     for the rows that differed every time (else: dropped as unsettled)
//
// in one pipelined round trip (MariaDB: one statement after the other, as
// Connector/C has no pipeline), compares the answers (compare_plan.h, the
// comparator) and reports the verdict to the ShadowService. A fingerprint
// whose served form disagrees with itself is noise: counted in
// shadow_noise_total and never compared again by this worker.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "config/config.h"
#include "proxy/backends/owned_result.h"
#include "proxy/shadow/fingerprint_book.h"
#include "proxy/shadow/shadow_service.h"
#include "rewrite/decision.h"

namespace sy::proxy {

struct TenantState;
struct ListenerRuntime;

//! A read a session asks to have shadowed.
struct ShadowRequest {
  std::shared_ptr<const TenantState> tenant;
  std::shared_ptr<const ListenerRuntime> listener;
  std::string database;  //!< the client's database
  config::Phase phase;   //!< the phase the client's read was served in
  std::string original;  //!< the client's text
  //! The read-switch decision for that text: the switched form, its shape, its fingerprint.
  std::shared_ptr<const rewrite::Decision> switched;
  //! PostgreSQL: as bound ($n, text or binary). MySQL: text values for the
  //! `?` placeholders, in order; formats 1 where the value is a number bound
  //! as one (sent unquoted), types empty.
  PgParams params;
  //! Cross-target shadows of PostgreSQL reads: the client's own answer, as
  //! its session relayed it (text rows and command tag; no columns), which
  //! stands for the primary's so the primary does not run the read again.
  std::optional<QueryResult> client_answer;
};

class ShadowRunner {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr size_t kLanesPerPool = 4;
  //! A lane with nothing to do for this long closes its connections and ends.
  static constexpr std::chrono::seconds kLaneIdle{60};
  //! After a failed connect, shadows to that target are dropped at once for this long.
  static constexpr std::chrono::seconds kDownFor{1};
  //! Another target's difference is looked at again this many times, after
  //! kRecheckPause, then twice that (each within half the time left), and
  //! counts only when the same rows differ at every look.
  static constexpr int kRechecks = 2;
  static constexpr std::chrono::milliseconds kRecheckPause{250};

  ShadowRunner(boost::asio::io_context& io, ShadowService& service);
  ~ShadowRunner();
  ShadowRunner(const ShadowRunner&) = delete;
  ShadowRunner& operator=(const ShadowRunner&) = delete;

  //! Whether reads of `t` served in `phase` on listener `l` are shadowed at all.
  static bool shadows(const config::Tenant& t, const config::Listener& l, config::Phase phase);
  //! Whether they are compared on another target, so that the client's own
  //! answer can stand for the primary's (ShadowRequest::client_answer).
  static bool compares_across(const config::Tenant& t, const config::Listener& l);
  //! Counts one execution of a shadowable read; true when this one is to be shadowed.
  bool sample(const config::Tenant& t, std::string_view fingerprint) {
    return book_.sample(t.name, fingerprint, t.shadow ? t.shadow->sample_percent : 0);
  }
  //! Queues the shadow or drops it (counted). Never waits.
  void submit(ShadowRequest r);
  //! Counts a shadow dropped before a request could be made.
  void drop(const std::string& tenant, DropReason reason);

 private:
  struct TenantSlot;
  struct Job;
  struct Pool;
  struct Lane;

  TenantSlot& slot(const config::Tenant& t);
  void count_drop(TenantSlot& s, DropReason reason);
  boost::asio::awaitable<void> lane(Pool& pool);
  //! Times run_taken into switchyard_shadow_duration_seconds.
  boost::asio::awaitable<void> run(Pool& pool, Lane& lane, Job& job);
  boost::asio::awaitable<void> run_taken(Pool& pool, Lane& lane, Job& job);
  boost::asio::awaitable<void> same_server(Pool& pool, Lane& lane, Job& job);
  boost::asio::awaitable<void> cross_target(Pool& pool, Lane& lane, Job& job);
  //! Connects lane.conn for `target` if needed; false (dropped, counted) when that fails.
  boost::asio::awaitable<bool> ready(Pool& pool, Lane& lane, bool other, Job& job);
  void verdict(Job& job, const std::string& compared, bool equal, const std::string& diff, size_t rows_a,
               size_t rows_b, std::vector<std::string> rows);
  void noise(Job& job);
  //! EXPLAIN of both forms of a slow fingerprint, on the lane's connection.
  boost::asio::awaitable<void> explain_both(Pool& pool, Lane& lane, Job& job);
  //! Runs `statements` in order on the lane's primary (or other) connection,
  //! one result each: PostgreSQL pipelines them; MySQL sends one after the
  //! other, and after an error skips the rest and rolls back.
  boost::asio::awaitable<std::vector<QueryResult>> exec(Pool& pool, Lane& lane, bool other,
                                                        std::vector<PgStatement> statements, Clock::time_point deadline);

  boost::asio::io_context& io_;
  ShadowService& service_;
  shadow::FingerprintBook book_;
  std::unordered_map<std::string, std::unique_ptr<TenantSlot>> tenants_;
  std::unordered_map<std::string, std::unique_ptr<Pool>> pools_;
};

}  // namespace sy::proxy

#include "proxy/backends/owned_pg_connection.h"

#include <libpq-fe.h>

#include <cstdlib>

#include "proxy/backends/resolve_host.h"
#include "proxy/backends/target_login.h"

namespace sy::proxy {

namespace asio = boost::asio;
using Clock = ForeignSocket::Clock;
using Event = ForeignSocket::Event;

OwnedPgConnection::OwnedPgConnection(asio::any_io_executor ex, config::Target target, OwnedConnectionOptions options)
    : OwnedConnectionBase(ex, std::move(target), std::move(options)) {}

OwnedPgConnection::~OwnedPgConnection() { close(); }

void OwnedPgConnection::close() {
  socket_.forget();  // before PQfinish closes the socket
  if (conn_) PQfinish(conn_);
  conn_ = nullptr;
  busy_ = false;
}

int OwnedPgConnection::backend_pid() const { return conn_ ? PQbackendPID(conn_) : 0; }

BackendError OwnedPgConnection::lost(std::string what) {
  auto e = error(std::move(what));
  e.connection_lost = true;
  close();
  return e;
}

asio::awaitable<std::optional<BackendError>> OwnedPgConnection::connect() {
  if (conn_) co_return error("already connected");
  auto deadline = Clock::now() + options_.connect_timeout;
  auto host = co_await resolve_host(ex_, target_.address.host, deadline);
  if (host.ip.empty()) co_return lost(host.error);
  {
    TargetPassword password(target_);
    if (!password.error().empty()) co_return lost(password.error());
    PgLoginParams params;
    const auto& database = options_.database.empty() ? target_.database : options_.database;
    add_pg_login(params, target_, database, options_.application_name, password.value(), host.ip);
    // GSS encryption would call into Kerberos, which blocks.
    params.add("gssencmode", "disable");
    // The server abandons what we stopped waiting for (see the header).
    params.add("options", "-c statement_timeout=" + std::to_string(options_.query_timeout.count() + 1000) +
                              (options_.read_only ? " -c default_transaction_read_only=on" : ""));
    conn_ = PQconnectStartParams(params.keywords(), params.values(), 0);
  }  // our copies of the password are wiped here; libpq keeps its own
  if (!conn_) co_return lost("out of memory");
  if (PQstatus(conn_) == CONNECTION_BAD) co_return lost(trim_message(PQerrorMessage(conn_)));

  // As if PQconnectPoll had last said WRITING (libpq's documented start).
  auto poll = PGRES_POLLING_WRITING;
  while (poll != PGRES_POLLING_OK) {
    if (poll == PGRES_POLLING_FAILED) co_return lost(trim_message(PQerrorMessage(conn_)));
    if (!socket_.watch(PQsocket(conn_))) co_return lost("cannot watch the connection's socket");
    auto event = co_await socket_.wait(poll == PGRES_POLLING_READING, poll == PGRES_POLLING_WRITING, deadline);
    if (event == Event::Deadline) co_return lost(connect_timed_out());
    poll = PQconnectPoll(conn_);
  }
  // Queries must not block in send() either.
  if (PQsetnonblocking(conn_, 1) != 0) co_return lost(trim_message(PQerrorMessage(conn_)));
  co_return std::nullopt;
}

namespace {

//! Moves what `r` says into `out`; the first error wins.
void take_result(const PGresult* r, QueryResult& out, const std::string& target) {
  switch (PQresultStatus(r)) {
    case PGRES_TUPLES_OK:
    case PGRES_COMMAND_OK:
    case PGRES_EMPTY_QUERY:
      if (out.error) return;
      out.columns.clear();
      for (int c = 0; c < PQnfields(r); ++c) out.columns.push_back({PQfname(r, c), PQftype(r, c)});
      out.rows = text_rows(r);
      out.command_tag = PQcmdStatus(const_cast<PGresult*>(r));
      if (const char* n = PQcmdTuples(const_cast<PGresult*>(r)); n && *n) out.affected = std::strtoull(n, nullptr, 10);
      return;
    default: {
      if (out.error) return;
      const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
      const char* primary = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
      out.error = BackendError{target + ": " + (primary ? primary : trim_message(PQresultErrorMessage(r))),
                               state ? state : "", false};
    }
  }
}

}  // namespace

asio::awaitable<QueryResult> OwnedPgConnection::query(std::string sql, std::vector<std::optional<std::string>> params) {
  QueryResult out;
  if ((out.error = refuse_query(conn_ != nullptr))) co_return out;
  busy_ = true;
  auto deadline = Clock::now() + options_.query_timeout;
  auto broken = [&] { return lost(trim_message(PQerrorMessage(conn_))); };

  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  if (!PQsendQueryParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(), nullptr,
                         nullptr, 0)) {
    out.error = broken();
    co_return out;
  }
  // A large statement may not fit the socket buffer at once. The server may
  // be answering meanwhile, so reading is also progress (libpq's advice).
  for (int pending; (pending = PQflush(conn_)) != 0;) {
    if (pending < 0) {
      out.error = broken();
      co_return out;
    }
    auto event = co_await socket_.wait(true, true, deadline);
    if (event == Event::Deadline) {
      out.error = lost(query_timed_out());
      co_return out;
    }
    if (event == Event::Readable && !PQconsumeInput(conn_)) {
      out.error = broken();
      co_return out;
    }
  }
  auto target = describe_target(target_);
  for (;;) {
    while (PQisBusy(conn_)) {
      if (co_await socket_.wait(true, false, deadline) == Event::Deadline) {
        out.error = lost(query_timed_out());
        co_return out;
      }
      if (!PQconsumeInput(conn_)) {
        out.error = broken();
        co_return out;
      }
    }
    PGresult* r = PQgetResult(conn_);
    if (!r) break;
    auto status = PQresultStatus(r);
    // COPY would wait for data we never send; such a connection is spent.
    if (status == PGRES_COPY_IN || status == PGRES_COPY_OUT || status == PGRES_COPY_BOTH) {
      PQclear(r);
      out.error = lost("COPY is not supported on this connection");
      co_return out;
    }
    take_result(r, out, target);
    PQclear(r);
  }
  busy_ = false;
  if (PQstatus(conn_) == CONNECTION_BAD) {
    auto why = lost(trim_message(PQerrorMessage(conn_)));
    if (!out.error) out.error = why;
    out.error->connection_lost = true;
  }
  co_return out;
}

asio::awaitable<OwnedPgConnection::Notifications> OwnedPgConnection::notifications(Clock::time_point deadline) {
  Notifications out;
  if ((out.error = refuse_query(conn_ != nullptr))) co_return out;
  auto take = [&] {
    while (PGnotify* n = PQnotifies(conn_)) {
      out.payloads.emplace_back(n->extra ? n->extra : "");
      PQfreemem(n);
    }
  };
  // Those that came with an earlier query's answer are queued already.
  take();
  busy_ = true;
  while (out.payloads.empty()) {
    if (co_await socket_.wait(true, false, deadline) == Event::Deadline) break;
    if (!PQconsumeInput(conn_)) {
      out.error = lost(trim_message(PQerrorMessage(conn_)));
      co_return out;
    }
    take();
  }
  busy_ = false;
  co_return out;
}

asio::awaitable<std::vector<QueryResult>> OwnedPgConnection::pipeline(std::vector<PgStatement> statements,
                                                                       Clock::time_point deadline) {
  std::vector<QueryResult> out(statements.size());
  auto fail_all = [&](const BackendError& e) {
    for (auto& r : out)
      if (!r.error) r.error = e;
  };
  if (auto refused = refuse_query(conn_ != nullptr)) {
    fail_all(*refused);
    co_return out;
  }
  busy_ = true;
  auto broken = [&] {
    fail_all(lost(trim_message(PQerrorMessage(conn_))));
    return out;
  };
  if (!PQenterPipelineMode(conn_)) co_return broken();
  for (const auto& st : statements) {
    std::string sql(st.sql);
    std::vector<const char*> values;
    std::vector<int> lengths, formats;
    std::vector<Oid> types;
    if (st.params) {
      const auto& p = *st.params;
      for (size_t i = 0; i < p.values.size(); ++i) {
        values.push_back(p.values[i] ? p.values[i]->data() : nullptr);
        lengths.push_back(p.values[i] ? static_cast<int>(p.values[i]->size()) : 0);
        formats.push_back(i < p.formats.size() ? p.formats[i] : 0);
        types.push_back(i < p.types.size() ? p.types[i] : 0);
      }
    }
    int n = static_cast<int>(values.size());
    if (!PQsendQueryParams(conn_, sql.c_str(), n, n ? types.data() : nullptr, n ? values.data() : nullptr,
                           n ? lengths.data() : nullptr, n ? formats.data() : nullptr, 0))
      co_return broken();
    // The server sends each answer when it is done, not all at the Sync:
    // when each arrives then times each statement (the latency report).
    if (!PQsendFlushRequest(conn_)) co_return broken();
  }
  if (!PQpipelineSync(conn_)) co_return broken();
  for (int pending; (pending = PQflush(conn_)) != 0;) {
    if (pending < 0) co_return broken();
    auto event = co_await socket_.wait(true, true, deadline);
    if (event == Event::Deadline) {
      fail_all(lost(query_timed_out()));
      co_return out;
    }
    if (event == Event::Readable && !PQconsumeInput(conn_)) co_return broken();
  }
  auto target = describe_target(target_);
  // Each statement's results end with a null result; the sync's own result ends it all.
  size_t at = 0;
  auto last = Clock::now();
  for (;;) {
    while (PQisBusy(conn_)) {
      if (co_await socket_.wait(true, false, deadline) == Event::Deadline) {
        fail_all(lost(query_timed_out()));
        co_return out;
      }
      if (!PQconsumeInput(conn_)) co_return broken();
    }
    PGresult* r = PQgetResult(conn_);
    if (!r) {
      ++at;
      continue;
    }
    auto status = PQresultStatus(r);
    if (status == PGRES_PIPELINE_SYNC) {
      PQclear(r);
      break;
    }
    if (status == PGRES_COPY_IN || status == PGRES_COPY_OUT || status == PGRES_COPY_BOTH) {
      PQclear(r);
      fail_all(lost("COPY is not supported on this connection"));
      co_return out;
    }
    if (at < out.size()) {
      auto now = Clock::now();
      out[at].elapsed = std::chrono::duration_cast<std::chrono::microseconds>(now - last);
      last = now;
      if (status == PGRES_PIPELINE_ABORTED) out[at].error = error("skipped after an earlier error in the pipeline");
      else take_result(r, out[at], target);
    }
    PQclear(r);
  }
  if (!PQexitPipelineMode(conn_)) co_return broken();
  busy_ = false;
  // A Sync ends an implicit transaction, not one the pipeline opened with
  // BEGIN: after an error that one is left aborted, so end it here.
  if (auto tx = PQtransactionStatus(conn_); tx == PQTRANS_INTRANS || tx == PQTRANS_INERROR) {
    auto rollback = co_await query("ROLLBACK");
    if (rollback.error) close();
  }
  co_return out;
}

}  // namespace sy::proxy

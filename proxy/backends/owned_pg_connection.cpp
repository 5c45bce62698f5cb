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
    params.add("options", "-c statement_timeout=" + std::to_string(options_.query_timeout.count() + 1000));
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

}  // namespace sy::proxy

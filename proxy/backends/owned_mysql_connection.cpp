#include "proxy/backends/owned_mysql_connection.h"

#include <errmsg.h>
#include <mysql.h>

#include <algorithm>

#include "proxy/backends/mysql_inline_params.h"
#include "proxy/backends/resolve_host.h"
#include "proxy/backends/target_login.h"

namespace sy::proxy {

namespace asio = boost::asio;
using Clock = ForeignSocket::Clock;
using Event = ForeignSocket::Event;

OwnedMySqlConnection::OwnedMySqlConnection(asio::any_io_executor ex, config::Target target,
                                           OwnedConnectionOptions options)
    : OwnedConnectionBase(ex, std::move(target), std::move(options)) {}

OwnedMySqlConnection::~OwnedMySqlConnection() { close(); }

void OwnedMySqlConnection::close() {
  socket_.forget();  // before mysql_close closes the socket
  if (!mysql_) return;
  // Mid-operation the socket's state is unknown: make every further read and
  // write fail at once, so mysql_close's COM_QUIT cannot wait on it.
  if (busy_) mariadb_cancel(mysql_);
  mysql_close(mysql_);
  mysql_ = nullptr;
  busy_ = false;
}

unsigned long OwnedMySqlConnection::thread_id() const { return mysql_ ? mysql_thread_id(mysql_) : 0; }

BackendError OwnedMySqlConnection::server_error() const {
  auto e = error(mysql_error(mysql_), mysql_sqlstate(mysql_));
  unsigned code = mysql_errno(mysql_);
  e.connection_lost = code >= CR_MIN_ERROR && code <= CR_MAX_ERROR;  // the client library's own: I/O, protocol
  return e;
}

BackendError OwnedMySqlConnection::lost(std::string what) {
  auto e = error(std::move(what));
  e.connection_lost = true;
  close();
  return e;
}

asio::awaitable<bool> OwnedMySqlConnection::finish(int status, Clock::time_point deadline, bool rewatch,
                                                   std::function<int(int)> cont) {
  while (status != 0) {
    // While connecting the library may replace its socket (next address).
    if (rewatch && !socket_.watch(mysql_get_socket(mysql_))) co_return false;
    // The library may ask for a timeout of its own (MYSQL_OPT_CONNECT_TIMEOUT
    // and friends); ours still bounds it.
    // A timeout value of 0 means it set none (the TLS handshake asks for
    // MYSQL_WAIT_TIMEOUT with no read timeout configured): taking 0 as "now"
    // made a handshake whose server answered a moment later fail with
    // "Connection timed out (110)" whenever the machine was busy.
    auto until = deadline;
    if (status & MYSQL_WAIT_TIMEOUT)
      if (auto ms = mysql_get_timeout_value_ms(mysql_); ms > 0)
        until = std::min(until, Clock::now() + std::chrono::milliseconds(ms));
    auto event = co_await socket_.wait(status & (MYSQL_WAIT_READ | MYSQL_WAIT_EXCEPT), status & MYSQL_WAIT_WRITE, until);
    int ready = event == Event::Readable ? MYSQL_WAIT_READ : event == Event::Writable ? MYSQL_WAIT_WRITE : 0;
    if (event == Event::Deadline) {
      if (Clock::now() >= deadline) co_return false;
      ready = MYSQL_WAIT_TIMEOUT;
    }
    status = cont(ready);
  }
  co_return true;
}

asio::awaitable<std::optional<BackendError>> OwnedMySqlConnection::connect() {
  if (mysql_) co_return error("already connected");
  auto deadline = Clock::now() + options_.connect_timeout;
  auto host = co_await resolve_host(ex_, target_.address.host, deadline);
  if (host.ip.empty()) co_return lost(host.error);
  TargetPassword password(target_);
  if (!password.error().empty()) co_return lost(password.error());

  mysql_ = mysql_init(nullptr);
  if (!mysql_) co_return lost("out of memory");
  mysql_options(mysql_, MYSQL_OPT_NONBLOCK, nullptr);
  unsigned seconds = static_cast<unsigned>((options_.connect_timeout.count() + 999) / 1000);
  mysql_options(mysql_, MYSQL_OPT_CONNECT_TIMEOUT, &seconds);
  // Text results in UTF-8, whatever the server's default.
  mysql_options(mysql_, MYSQL_SET_CHARSET_NAME, "utf8mb4");
  mysql_options4(mysql_, MYSQL_OPT_CONNECT_ATTR_ADD, "program_name", options_.application_name.c_str());
  apply_mysql_tls(mysql_, target_.tls);

  const auto& database = options_.database.empty() ? target_.database : options_.database;
  MYSQL* ret = nullptr;
  busy_ = true;
  int status = mysql_real_connect_start(&ret, mysql_, host.ip.c_str(), target_.user.c_str(),
                                        password.value().c_str(), database.empty() ? nullptr : database.c_str(),
                                        target_.address.port, nullptr, 0);
  bool in_time = co_await finish(status, deadline, true, [&](int ready) {
    return mysql_real_connect_cont(&ret, mysql_, ready);
  });
  if (!in_time) co_return lost(connect_timed_out());
  busy_ = false;
  if (!ret) {
    auto e = server_error();
    e.connection_lost = true;
    close();
    co_return e;
  }
  if (!socket_.watch(mysql_get_socket(mysql_))) co_return lost("cannot watch the connection's socket");
  co_return std::nullopt;
}

asio::awaitable<QueryResult> OwnedMySqlConnection::query(std::string sql, std::vector<std::optional<std::string>> params,
                                                         std::optional<Clock::time_point> until, std::vector<bool> numbers) {
  QueryResult out;
  if ((out.error = refuse_query(mysql_ != nullptr))) co_return out;
  if (!params.empty()) {
    auto inlined = inline_params(mysql_, sql, params, numbers);
    if (!inlined.error.empty()) {
      out.error = error(inlined.error);
      co_return out;
    }
    sql = std::move(inlined.sql);
  }
  auto deadline = until.value_or(Clock::now() + options_.query_timeout);
  busy_ = true;
  int failed = 0;
  int status = mysql_real_query_start(&failed, mysql_, sql.data(), sql.size());
  if (!co_await finish(status, deadline, false, [&](int ready) { return mysql_real_query_cont(&failed, mysql_, ready); })) {
    out.error = lost(query_timed_out());
    co_return out;
  }
  // A statement may answer with several results (CALL): the first is the
  // answer; the rest are read and dropped so the connection stays in step.
  for (bool first = true;; first = false) {
    if (failed) {
      busy_ = false;
      if (!out.error) out.error = server_error();
      if (out.error->connection_lost) close();
      co_return out;
    }
    MYSQL_RES* res = nullptr;
    status = mysql_store_result_start(&res, mysql_);
    if (!co_await finish(status, deadline, false, [&](int ready) { return mysql_store_result_cont(&res, mysql_, ready); })) {
      if (res) mysql_free_result(res);
      out.error = lost(query_timed_out());
      co_return out;
    }
    if (!res && mysql_field_count(mysql_) != 0) {
      failed = 1;
      continue;
    }
    if (first) {
      if (res) {
        MYSQL_FIELD* fields = mysql_fetch_fields(res);
        for (unsigned c = 0; c < mysql_num_fields(res); ++c)
          out.columns.push_back({std::string(fields[c].name, fields[c].name_length), fields[c].type});
        out.rows = text_rows(res);
      } else {
        out.affected = mysql_affected_rows(mysql_);
      }
    }
    if (res) mysql_free_result(res);  // a stored result: no I/O
    if (!mysql_more_results(mysql_)) break;
    status = mysql_next_result_start(&failed, mysql_);
    if (!co_await finish(status, deadline, false, [&](int ready) { return mysql_next_result_cont(&failed, mysql_, ready); })) {
      out.error = lost(query_timed_out());
      co_return out;
    }
    failed = failed > 0;  // -1: no further result (mysql_more_results said there was one)
  }
  busy_ = false;
  co_return out;
}

}  // namespace sy::proxy

#pragma once
// What one MySQL statement does to its session, read from its text alone: the
// classifier half of mysql::SessionState. It never fails: what it cannot read
// with certainty becomes an Unknown effect (the state is then uncertain).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sy::mysql {

enum class EffectKind : uint8_t {
  Begin,            //!< BEGIN, START TRANSACTION, XA START
  Commit,
  Rollback,
  SetVar,           //!< name (lower case), value: a session system variable
  ResetVar,         //!< name: SET x = DEFAULT (back to the global value)
  SetUserVar,       //!< name (lower case, user variables ignore case), value
  SetStatement,     //!< name = key ("names", "character set", "transaction"), value = whole SQL to replay
  Unreplayable,     //!< value = why (SET ROLE)
  Use,              //!< name = database
  Prepare,          //!< name, value = replay SQL (PREPARE `n` FROM '…'), body = statement text
  Deallocate,       //!< name
  Execute,          //!< name: runs a prepared statement, whose effects follow
  CreateTemp,       //!< name as written ("" when unreadable)
  Drop,             //!< names: DROP [TEMPORARY] TABLE may drop a temporary table
  GetLock,          //!< name = lock name
  ReleaseLock,      //!< name
  ReleaseAllLocks,
  UnknownLock,      //!< a GET_LOCK whose name or count the text does not pin down
  LockTables,       //!< LOCK TABLES, FLUSH TABLES WITH READ LOCK
  UnlockTables,
  Unknown,          //!< value = why
};

struct Effect {
  EffectKind kind;
  std::string name;
  std::string value;  //!< SetVar / SetUserVar: a canonical SQL literal
  std::string body;
  std::vector<std::string> names;
};

struct ClassifyContext {
  //! SERVER_STATUS_NO_BACKSLASH_ESCAPES was set in the last status: backslashes are literal.
  bool no_backslash_escapes = false;
};

std::vector<Effect> statement_effects(std::string_view statement, const ClassifyContext& ctx = {});

//! The statement reads state only this connection has (LAST_INSERT_ID(),
//! FOUND_ROWS(), SHOW WARNINGS, HANDLER …): a reason, or empty.
std::string_view connection_bound(std::string_view statement);

}  // namespace sy::mysql

#pragma once
// What one PostgreSQL statement does to its session, read from its text alone:
// the classifier half of SessionState. It never fails: a statement it cannot
// read with certainty yields an Unknown effect, which makes the state uncertain
// (never a guess that could route a read wrongly).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sy::pg {

enum class EffectKind : uint8_t {
  Begin,
  Commit,            //!< COMMIT / END (a failed transaction's COMMIT rolls back)
  Rollback,          //!< ROLLBACK / ABORT
  Savepoint,         //!< name
  RollbackTo,        //!< name
  Release,           //!< name
  Set,               //!< name, value (SQL text to put after "SET name TO")
  SetLocal,          //!< name, value
  SetRaw,            //!< name, value (a raw GUC string, as set_config(name, value, false) takes it)
  SetRawLocal,       //!< set_config(name, value, true)
  Reset,             //!< name
  ResetAll,
  Unreplayable,      //!< name, value = why (SET ROLE, SET SESSION AUTHORIZATION)
  Prepare,           //!< name, value = the whole PREPARE statement, body = the prepared statement
  Deallocate,        //!< name
  DeallocateAll,
  Execute,           //!< name: runs a prepared statement, whose own effects follow
  DiscardAll,
  DiscardTemp,
  Listen,            //!< name
  Unlisten,          //!< name
  UnlistenAll,
  CreateTemp,        //!< name ("" when it could not be read: then only DISCARD forgets it)
  Drop,              //!< names: DROP TABLE/VIEW/SEQUENCE may drop a temporary object
  AdvisoryLock,      //!< name = key ("s:" shared / "x:" exclusive, then the literal arguments)
  AdvisoryUnlock,    //!< name = key
  AdvisoryUnlockAll,
  UnknownLock,       //!< a lock call whose key or count the text does not pin down
  Unknown,           //!< value = why the effect cannot be known
};

struct Effect {
  EffectKind kind;
  std::string name;
  std::string value;
  std::string body;                //!< Prepare: the statement after AS
  std::vector<std::string> names;  //!< Drop
};

struct ClassifyContext {
  //! The server's standard_conforming_strings (from ParameterStatus): when off,
  //! backslashes in '' strings are escapes and such values are not decoded.
  bool standard_strings = true;
};

//! The session effects of one statement (no trailing semicolon needed), in order.
std::vector<Effect> statement_effects(std::string_view statement, const ClassifyContext& ctx = {});

//! The statement reads or moves state only this connection has (a cursor,
//! currval/lastval, the backend's pid): a reason, or empty.
std::string_view connection_bound(std::string_view statement);

//! A string literal token's value (standard, E'', $$), or false when it cannot
//! be decoded exactly (U&'', B'', X'', escapes under standard_strings = off).
bool decode_string(std::string_view token, bool standard_strings, std::string& out);

}  // namespace sy::pg

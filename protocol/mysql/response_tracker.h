#pragma once
// Follows the server's replies to the client's commands just far enough to
// read the status flags of the packet that ends each reply, for the one thing
// the proxy needs from them: whether a transaction is open (a phase change
// then waits for it to end, as PostgreSQL's ReadyForQuery allows there).
//
// It is told each command the client sends and the start of each packet the
// server sends; it never changes what is relayed. Anything it cannot follow
// resets it to "not in a transaction", which only means a phase change is not
// held back. Never touches a socket.
#include <cstdint>
#include <utility>
#include <deque>
#include <optional>
#include <string_view>

namespace sy::mysql {

class ResponseTracker {
 public:
  //! `deprecate_eof`: both sides agreed on CLIENT_DEPRECATE_EOF.
  explicit ResponseTracker(bool deprecate_eof) : deprecate_eof_(deprecate_eof) {}

  //! A command packet (sequence id 0) the client sent, by its first byte.
  void command(uint8_t cmd);

  //! The start of a server packet: its payload length and as much of the
  //! payload as has arrived (OK and EOF packets are small and read whole).
  void server_packet(uint32_t length, std::string_view payload);

  //! The last status the server reported had SERVER_STATUS_IN_TRANS (always
  //! false once the tracker has lost its way).
  bool in_transaction() const { return in_transaction_; }
  //! Every command sent has been answered in full.
  bool idle() const { return state_ == State::Idle && pending_.empty(); }
  //! It stopped following (and will say so no more than this once).
  bool lost() const { return lost_; }

  //! The server asked for a LOCAL INFILE: the client's next packets are the
  //! file, whatever their sequence ids (which wrap to 0 every 256 packets), up
  //! to an empty one. None of them is a command.
  bool client_uploading() const { return uploading_; }
  //! The client's empty packet that ends the file.
  void upload_done() { uploading_ = false; }

  //! How the server answered a COM_STMT_PREPARE, in the order they were sent.
  struct PrepareReply {
    bool ok = false;
    uint32_t statement_id = 0;
    uint16_t params = 0;
  };
  //! The answer the last server_packet() started, when it was a
  //! COM_STMT_PREPARE's (then cleared). For the shadow reads of prepared
  //! statements, which pair each prepared text with its statement id.
  std::optional<PrepareReply> take_prepare_reply() { return std::exchange(prepare_reply_, std::nullopt); }

 private:
  enum class State {
    Idle,      //!< between replies
    First,     //!< the first packet of a reply: OK, ERR, LOCAL INFILE or a column count
    Columns,   //!< column definitions, up to the EOF after them (without DEPRECATE_EOF)
    Rows,      //!< rows, up to the EOF / OK terminator
    Prepared,  //!< the parameter and column definitions after COM_STMT_PREPARE's OK
    UntilEof,  //!< COM_FIELD_LIST: definitions up to an EOF
    Single,    //!< a reply of one packet that is not an OK (COM_STATISTICS)
    Login,     //!< COM_CHANGE_USER: an authentication exchange, up to OK or ERR
  };

  void begin_reply();
  void finish(uint16_t status, bool has_status);
  void error(std::string_view payload);
  bool read_ok_status(std::string_view payload, uint16_t& status) const;
  bool read_eof_status(std::string_view payload, uint16_t& status) const;
  void reset();

  bool deprecate_eof_;
  State state_ = State::Idle;
  std::deque<uint8_t> pending_;  //!< commands sent and not yet answered
  uint8_t current_ = 0;          //!< command being answered
  uint32_t remaining_ = 0;       //!< State::Prepared: definition packets still to come
  bool continuation_ = false;    //!< the previous packet was 16 MiB: this one continues it
  bool in_transaction_ = false;
  bool lost_ = false;            //!< something it could not follow: it stops following
  bool uploading_ = false;       //!< between a LOCAL INFILE request and the client's empty packet
  std::optional<PrepareReply> prepare_reply_;
};

}  // namespace sy::mysql

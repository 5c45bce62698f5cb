#pragma once
// The switchyard command line: which command, and its options. The table of
// commands and flags is in command_line.cpp (CLI11), which also writes each
// command's --help and the error for a flag it does not know or a bad value.
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/ops/backfill.h"

namespace sy::cli {

struct CommandLine {
  std::string command;   //!< run, check-config, init-flags-store, explain, verify, backfill or bucket
  std::string config;    //!< -c FILE; every command but bucket
  std::string tenant;
  std::string phase;     //!< explain: empty is the tenant's own phase
  std::string dialect;   //!< explain: empty is the protocol of the tenant's listener
  std::string sql;       //!< explain
  std::string target;    //!< verify: empty is the listener's primary
  bool json = false;     //!< explain, verify
  double percent = -1;   //!< bucket: 0..100 in steps of 0.01; negative when not given
  std::vector<std::string> keys;    //!< bucket
  proxy::BackfillOptions backfill;  //!< backfill (its tenant is set too)
};

//! A command to run, or the exit status to leave with at once: 0 after
//! --help or --version (printed to `out`), 2 after a usage error (said on `err`).
struct Parsed {
  std::optional<CommandLine> line;
  int exit_status = 0;
};

Parsed parse_command_line(int argc, const char* const* argv, std::string_view version, std::ostream& out,
                          std::ostream& err);

}  // namespace sy::cli

#include "proxy/cli/command_line.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cmath>
#include <ostream>

namespace sy::cli {

namespace {

constexpr int kUsageError = 2;  // README: a bad command line exits 2, as it always has

// The canary's resolution (10 000 buckets), as the config loader checks it.
std::string check_percent(std::string& text) {
  double v = 0;
  if (!CLI::detail::lexical_cast(text, v) || !std::isfinite(v) || v < 0 || v > 100)
    return "expected a number from 0 to 100, not \"" + text + "\"";
  if (std::fabs(v * 100 - std::round(v * 100)) > 1e-6) return "percentages take steps of 0.01, not " + text;
  return {};
}

// CLI11 reads integers with strtoull(…, 0): "010" would be 8 and "0x10" 16.
// A count on a command line is decimal, so this takes digits only and drops
// leading zeros before CLI11 converts them.
std::string as_decimal(std::string& text) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos)
    return "expected a whole number, not \"" + text + "\"";
  text.erase(0, std::min(text.find_first_not_of('0'), text.size() - 1));
  return {};
}

void add_config(CLI::App& cmd, CommandLine& line) {
  cmd.add_option("-c,--config", line.config, "the config file (YAML)")->type_name("FILE")->required();
}

void add_tenant(CLI::App& cmd, CommandLine& line) {
  cmd.add_option("--tenant", line.tenant, "the tenant, by its name in the config")->type_name("T")->required();
}

// explain, verify and backfill each read the config and act for one tenant.
CLI::App* add_tenant_command(CLI::App& app, CommandLine& line, const char* name, const char* description) {
  auto* cmd = app.add_subcommand(name, description);
  add_config(*cmd, line);
  add_tenant(*cmd, line);
  return cmd;
}

}  // namespace

Parsed parse_command_line(int argc, const char* const* argv, std::string_view version, std::ostream& out,
                          std::ostream& err) {
  CommandLine line;
  CLI::App app("switchyard: a sidecar proxy for status-column migrations on PostgreSQL and MySQL", "switchyard");
  app.set_version_flag("--version", "switchyard " + std::string(version), "print the version and exit");
  app.require_subcommand(1);
  app.get_formatter()->column_width(36);

  auto* run = app.add_subcommand("run", "serve the listeners in FILE (JSON log lines on stderr)");
  add_config(*run, line);

  auto* check = app.add_subcommand("check-config", "validate FILE; exit 0, or 1 with each error and its line");
  add_config(*check, line);

  auto* init_store = app.add_subcommand("init-flags-store", "create the flags store's tables (flags_store in FILE); idempotent");
  add_config(*init_store, line);

  auto* explain = add_tenant_command(app, line, "explain", "show what the rewrite does to SQL for a tenant, and why");
  explain->add_option("--phase", line.phase, "explain in this phase instead of the tenant's")->type_name("P");
  explain->add_option("--dialect", line.dialect, "the SQL's dialect (default: the tenant listener's protocol)")
      ->check(CLI::IsMember({"postgres", "mysql"}));
  explain->add_flag("--json", line.json, "one JSON object instead of text");
  explain->add_option("SQL", line.sql, "the statement text")->required();

  auto* verify = add_tenant_command(app, line, "verify", "per migration: rows, consistent, inconsistent, unmapped, %");
  verify->footer("Exit status: 0 when no row is inconsistent, 1 when some are, 2 when it cannot run.");
  verify->add_option("--target", line.target, "read this target (default: the listener's primary)")->type_name("NAME");
  verify->add_flag("--json", line.json, "one JSON object instead of a table");

  auto* backfill = add_tenant_command(app, line, "backfill", "set the unified column of rows written before dual_write");
  backfill->footer("In key-ordered batches; progress is shown and saved after every batch, so running it again "
                   "resumes. Refused while the tenant runs cleanup.");
  auto& bf = line.backfill;
  const CLI::Validator decimal(as_decimal, "", "decimal");
  backfill->add_option("--batch", bf.batch, "rows per UPDATE")
      ->type_name("N")
      ->capture_default_str()
      ->transform(decimal)
      ->check(CLI::Range(1u, 100000000u).description(""));
  backfill->add_option("--sleep-ms", bf.sleep_ms, "milliseconds to pause between batches")
      ->type_name("N")
      ->transform(decimal)
      ->check(CLI::Range(0u, 100000000u).description(""));
  backfill->add_option("--key", bf.key, "unique, ordered column to page by (default: the primary key)")->type_name("COLUMN");
  backfill->add_option("--target", bf.target, "write this target (default: the listener's primary)")->type_name("NAME");
  backfill->add_option("--progress", bf.progress, "progress file (default: next to state_file)")->type_name("FILE");
  backfill->add_flag("--restart", bf.restart, "ignore saved progress and start from the beginning");

  auto* bucket = app.add_subcommand("bucket", "canary bucket of each sticky KEY (the same on every host)");
  bucket->footer("Prints each KEY, its bucket (0 to 9999) and, with --percent, whether a canary of P percent "
                 "includes it.");
  add_tenant(*bucket, line);
  bucket->add_option("--percent", line.percent, "canary size, 0 to 100 in steps of 0.01")
      ->type_name("P")
      ->check(CLI::Validator(check_percent, "", "percent"));
  bucket->add_option("KEY", line.keys, "sticky keys (put -- before one that starts with -)")->required();

  if (argc < 2) {
    err << app.help();
    return {std::nullopt, kUsageError};
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {  // --help, --version
      app.exit(e, out, err);
      return {std::nullopt, 0};
    }
    auto chosen = app.get_subcommands();
    // CLI11 would say only that a subcommand is required.
    if (chosen.empty() && argv[1][0] != '-') {
      err << "switchyard: unknown command \"" << argv[1] << "\"\nRun `switchyard --help` for the commands.\n";
      return {std::nullopt, kUsageError};
    }
    std::string command = "switchyard" + (chosen.empty() ? std::string() : " " + chosen.front()->get_name());
    err << command << ": " << e.what() << "\nRun `" << command << " --help` for usage.\n";
    return {std::nullopt, kUsageError};
  }
  line.command = app.get_subcommands().front()->get_name();
  bf.tenant = line.tenant;
  return {std::move(line), 0};
}

}  // namespace sy::cli

#include "config/loader.h"

#include <arpa/inet.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cctype>
#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include "config/tenant_rules.h"
#include "config/yaml_structure.h"

namespace sy::config {

std::string ConfigError::str() const {
  std::string s = line > 0 ? "line " + std::to_string(line) + ": " : "";
  if (!path.empty()) s += path + ": ";
  return s + message;
}

namespace {

// Walks the YAML tree collecting errors with their line and dotted path, so
// check-config can report every problem in one pass.
class Reader {
 public:
  std::vector<ConfigError> errors;
  std::vector<ConfigError> warnings;

  void error(const YAML::Node& n, const std::string& path, const std::string& msg) { errors.push_back(at(n, path, msg)); }
  void warn(const YAML::Node& n, const std::string& path, const std::string& msg) { warnings.push_back(at(n, path, msg)); }
  static ConfigError at(const YAML::Node& n, const std::string& path, const std::string& msg) {
    return {n.IsDefined() ? n.Mark().line + 1 : 0, path, msg};
  }

  // Rejects keys we do not know: a typo in a safety setting must not be ignored.
  void only_keys(const YAML::Node& n, const std::string& path, std::initializer_list<const char*> allowed) {
    if (!n.IsMap()) return;
    for (const auto& kv : n) {
      auto key = kv.first.as<std::string>();
      bool ok = false;
      for (const char* a : allowed) ok = ok || key == a;
      if (!ok) error(kv.first, path, "unknown key \"" + key + "\"");
    }
  }

  bool is_map(const YAML::Node& n, const std::string& path) {
    if (n.IsMap()) return true;
    error(n, path, "expected a mapping");
    return false;
  }

  void str(const YAML::Node& parent, const char* key, const std::string& path, std::string& out,
           bool required = false) {
    auto n = parent[key];
    if (!n.IsDefined() || n.IsNull()) {
      if (required) error(parent, join(path, key), "is required");
      return;
    }
    if (!n.IsScalar()) return error(n, join(path, key), "expected a string");
    if (required && n.Scalar().empty()) return error(n, join(path, key), "must not be empty");
    out = n.Scalar();
  }

  // YAML types a quoted scalar as a string (tag "!"): `port: "5432"` or
  // `canary: "10"` is a string where a number belongs, refused as PostgreSQL
  // refuses '10'::text where an integer is expected, rather than guessed at.
  bool quoted_number(const YAML::Node& n, const std::string& path, const char* key) {
    if (!n.IsScalar() || n.Tag() != "!") return false;
    error(n, join(path, key), "expected a number, got the quoted string \"" + n.Scalar() + "\"");
    return true;
  }

  template <class Int>
  void integer(const YAML::Node& parent, const char* key, const std::string& path, Int& out, Int lo, Int hi) {
    auto n = parent[key];
    if (!n.IsDefined() || n.IsNull() || quoted_number(n, path, key)) return;
    long long v = 0;
    const auto& s = n.IsScalar() ? n.Scalar() : std::string();
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (!n.IsScalar() || ec != std::errc() || p != s.data() + s.size() || v < lo || v > hi)
      return error(n, join(path, key),
                   "expected an integer from " + std::to_string(lo) + " to " + std::to_string(hi));
    out = static_cast<Int>(v);
  }

  void number(const YAML::Node& parent, const char* key, const std::string& path, double& out, double lo,
              double hi) {
    auto n = parent[key];
    if (!n.IsDefined() || n.IsNull() || quoted_number(n, path, key)) return;
    try {
      double v = n.as<double>();
      if (!std::isfinite(v) || v < lo || v > hi) throw YAML::Exception(n.Mark(), "range");
      out = v;
    } catch (const YAML::Exception&) {
      error(n, join(path, key), "expected a number from " + fmt(lo) + " to " + fmt(hi));
    }
  }

  // Any finite number: ranges that the admin API shares are checked in tenant_rules.
  void real(const YAML::Node& parent, const char* key, const std::string& path, double& out) {
    auto n = parent[key];
    if (!n.IsDefined() || n.IsNull() || quoted_number(n, path, key)) return;
    try {
      double v = n.as<double>();
      if (!std::isfinite(v)) throw YAML::Exception(n.Mark(), "not finite");
      out = v;
    } catch (const YAML::Exception&) {
      error(n, join(path, key), "expected a number");
    }
  }

  template <class E>
  void enumeration(const YAML::Node& parent, const char* key, const std::string& path, E& out,
                   std::initializer_list<std::pair<const char*, E>> values) {
    auto n = parent[key];
    if (!n.IsDefined() || n.IsNull()) return;
    std::string names;
    for (const auto& [name, v] : values) {
      if (n.IsScalar() && n.Scalar() == name) {
        out = v;
        return;
      }
      names += names.empty() ? "" : " | ";
      names += name;
    }
    error(n, join(path, key), "expected one of: " + names);
  }

  // An enum whose names config.h owns (shared with the admin API's decoder).
  template <class E>
  void named(const YAML::Node& parent, const char* key, const std::string& path, E& out,
             std::optional<E> (*parse)(const std::string&), const std::string& names) {
    auto n = parent[key];
    if (!n.IsDefined() || n.IsNull()) return;
    auto v = n.IsScalar() ? parse(n.Scalar()) : std::nullopt;
    if (v) out = *v;
    else error(n, join(path, key), "expected one of: " + names);
  }

  // A name is fine where switchyard connects (resolved then); a listening
  // address must be an IP, or check-config would pass a file `run` refuses.
  enum class Host { NameOrIp, IpOnly };

  void endpoint(const YAML::Node& parent, const char* key, const std::string& path, Endpoint& out,
                bool required, Host host = Host::NameOrIp) {
    std::string s;
    str(parent, key, path, s, required);
    if (s.empty()) return;
    auto colon = s.rfind(':');
    uint32_t port = 0;
    auto port_s = colon == std::string::npos ? std::string() : s.substr(colon + 1);
    auto [p, ec] = std::from_chars(port_s.data(), port_s.data() + port_s.size(), port);
    if (colon == std::string::npos || colon == 0 || ec != std::errc() || p != port_s.data() + port_s.size() ||
        port == 0 || port > 65535)
      return error(parent[key], join(path, key), "expected host:port, got \"" + s + "\"");
    out.host = s.substr(0, colon);
    if (out.host.size() > 2 && out.host.front() == '[' && out.host.back() == ']')
      out.host = out.host.substr(1, out.host.size() - 2);
    out.port = static_cast<uint16_t>(port);
    if (host == Host::IpOnly && !is_ip_address(out.host))
      error(parent[key], join(path, key), "expected an IP address to listen on (127.0.0.1, 0.0.0.0, [::1]), got \"" +
                                              out.host + "\"");
  }

  static bool is_ip_address(const std::string& host) {
    unsigned char buf[sizeof(in6_addr)];
    return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
  }

  void string_list(const YAML::Node& parent, const char* key, const std::string& path,
                   std::vector<std::string>& out) {
    auto n = parent[key];
    if (!n.IsDefined() || n.IsNull()) return;
    if (!n.IsSequence()) return error(n, join(path, key), "expected a list");
    for (const auto& item : n) {
      if (!item.IsScalar()) error(item, join(path, key), "expected a string");
      else out.push_back(item.Scalar());
    }
  }

  void string_map(const YAML::Node& parent, const char* key, const std::string& path,
                  std::vector<std::pair<std::string, std::string>>& out) {
    auto n = parent[key];
    if (!n.IsDefined() || n.IsNull()) return;
    if (!is_map(n, join(path, key))) return;
    for (const auto& kv : n) {
      if (!kv.second.IsScalar()) error(kv.second, join(path, key), "expected a string value");
      else out.emplace_back(kv.first.Scalar(), kv.second.Scalar());
    }
  }

  static std::string join(const std::string& path, const std::string& key) {
    return path.empty() ? key : path + "." + key;
  }
  static std::string index(const std::string& path, size_t i) { return path + "[" + std::to_string(i) + "]"; }

 private:
  static std::string fmt(double d) {
    std::ostringstream o;
    o << d;
    return o.str();
  }
};

void read_backend_tls(Reader& r, const YAML::Node& n, const std::string& path, BackendTls& out) {
  if (!n.IsDefined() || n.IsNull() || !r.is_map(n, path)) return;
  r.only_keys(n, path, {"mode", "ca", "server_name", "cert", "key"});
  r.enumeration(n, "mode", path, out.mode,
                {{"disable", BackendTlsMode::Disable},
                 {"prefer", BackendTlsMode::Prefer},
                 {"require", BackendTlsMode::Require},
                 {"verify-full", BackendTlsMode::VerifyFull}});
  r.str(n, "ca", path, out.ca);
  r.str(n, "server_name", path, out.server_name);
  r.str(n, "cert", path, out.cert);
  r.str(n, "key", path, out.key);
  if (out.mode == BackendTlsMode::VerifyFull && out.ca.empty())
    r.error(n, path, "mode verify-full needs \"ca\"");
  // A certificate without its key (or the reverse) would fail only at the
  // first connection; a client certificate over plaintext would never be sent.
  if (out.cert.empty() != out.key.empty()) r.error(n, path, "\"cert\" and \"key\" go together");
  if (!out.cert.empty() && out.mode == BackendTlsMode::Disable)
    r.error(n, path, "a client certificate (\"cert\", \"key\") needs mode prefer, require or verify-full");
}

void read_listener(Reader& r, const YAML::Node& n, const std::string& path, Listener& l) {
  if (!r.is_map(n, path)) return;
  r.only_keys(n, path, {"name", "protocol", "listen", "tls", "targets", "primary", "max_message_bytes",
                        "connect_timeout_ms", "login_timeout_ms", "max_client_connections",
                        "idle_in_transaction_session_timeout_ms", "idle_session_timeout_ms"});
  r.str(n, "name", path, l.name, true);
  r.enumeration(n, "protocol", path, l.protocol, {{"postgres", Protocol::Postgres}, {"mysql", Protocol::Mysql}});
  r.endpoint(n, "listen", path, l.listen, true, Reader::Host::IpOnly);
  r.integer(n, "max_message_bytes", path, l.max_message_bytes, 1024u, 1024u << 20);
  r.integer(n, "connect_timeout_ms", path, l.connect_timeout_ms, 1u, 600000u);
  r.integer(n, "login_timeout_ms", path, l.login_timeout_ms, 100u, 3600000u);
  r.integer(n, "max_client_connections", path, l.max_client_connections, 1u, 1000000u);
  r.integer(n, "idle_in_transaction_session_timeout_ms", path, l.idle_in_transaction_session_timeout_ms, 0u,
            86400000u);
  r.integer(n, "idle_session_timeout_ms", path, l.idle_session_timeout_ms, 0u, 86400000u);

  if (auto tls = n["tls"]; tls.IsDefined() && r.is_map(tls, path + ".tls")) {
    auto tp = path + ".tls";
    r.only_keys(tls, tp, {"mode", "cert", "key"});
    r.enumeration(tls, "mode", tp, l.tls.mode,
                  {{"disable", ClientTlsMode::Disable},
                   {"prefer", ClientTlsMode::Prefer},
                   {"require", ClientTlsMode::Require}});
    r.str(tls, "cert", tp, l.tls.cert);
    r.str(tls, "key", tp, l.tls.key);
    if (l.tls.mode != ClientTlsMode::Disable && (l.tls.cert.empty() || l.tls.key.empty()))
      r.error(tls, tp, "modes prefer and require need \"cert\" and \"key\"");
  }

  auto targets = n["targets"];
  auto tp = path + ".targets";
  if (!targets.IsDefined()) {
    r.error(n, tp, "is required");
  } else if (r.is_map(targets, tp)) {
    for (const auto& kv : targets) {
      Target t;
      t.name = kv.first.Scalar();
      auto p = tp + "." + t.name;
      const auto& tn = kv.second;
      if (!r.is_map(tn, p)) continue;
      r.only_keys(tn, p, {"address", "tls", "user", "password_env", "database"});
      r.endpoint(tn, "address", p, t.address, true);
      read_backend_tls(r, tn["tls"], p + ".tls", t.tls);
      r.str(tn, "user", p, t.user);
      r.str(tn, "password_env", p, t.password_env);
      r.str(tn, "database", p, t.database);
      l.targets.push_back(std::move(t));
    }
    if (targets.IsMap() && targets.size() == 0) r.error(targets, tp, "at least one target is required");
  }
  r.str(n, "primary", path, l.primary);
  if (l.primary.empty() && !l.targets.empty()) l.primary = l.targets.front().name;
  if (!l.primary.empty() && !l.targets.empty() && !l.target(l.primary))
    r.error(n["primary"], path + ".primary", "no target named \"" + l.primary + "\"");
}

void read_tenant(Reader& r, const YAML::Node& n, const std::string& path, Tenant& t) {
  if (!r.is_map(n, path)) return;
  r.only_keys(n, path, {"name", "match", "phase", "canary", "read_target", "shadow", "guard", "on_unsupported",
                        "migrations"});
  r.str(n, "name", path, t.name, true);
  r.named(n, "phase", path, t.phase, parse_phase, phase_names());
  if (auto m = n["match"]; m.IsDefined() && r.is_map(m, path + ".match")) {
    r.only_keys(m, path + ".match", {"listener", "database", "user", "application_name"});
    r.str(m, "listener", path + ".match", t.match.listener);
    r.str(m, "database", path + ".match", t.match.database);
    r.str(m, "user", path + ".match", t.match.user);
    r.str(m, "application_name", path + ".match", t.match.application_name);
  }
  if (auto c = n["canary"]; c.IsDefined() && r.is_map(c, path + ".canary")) {
    auto cp = path + ".canary";
    r.only_keys(c, cp, {"phase", "read_target", "percent", "sticky_by"});
    Phase p = t.phase;
    if (c["phase"].IsDefined()) {
      r.named(c, "phase", cp, p, parse_phase, phase_names());
      t.canary.phase = p;
    }
    r.str(c, "read_target", cp, t.canary.read_target);
    r.real(c, "percent", cp, t.canary.percent);
    r.named(c, "sticky_by", cp, t.canary.sticky_by, parse_sticky_by, sticky_by_names());
  }
  r.str(n, "read_target", path, t.read_target);
  if (auto s = n["shadow"]; s.IsDefined() && r.is_map(s, path + ".shadow")) {
    auto sp = path + ".shadow";
    Shadow sh;
    r.only_keys(s, sp, {"target", "sample_percent", "compare", "ignore_columns", "timeout_ms", "max_inflight",
                        "log_parameters"});
    r.str(s, "target", sp, sh.target);
    r.real(s, "sample_percent", sp, sh.sample_percent);
    r.str(s, "compare", sp, sh.compare);
    r.string_list(s, "ignore_columns", sp, sh.ignore_columns);
    r.integer(s, "timeout_ms", sp, sh.timeout_ms, 1u, 600000u);
    r.integer(s, "max_inflight", sp, sh.max_inflight, 1u, 100000u);
    r.enumeration(s, "log_parameters", sp, sh.log_parameters, {{"true", true}, {"false", false}});
    t.shadow = sh;
  }
  if (auto g = n["guard"]; g.IsDefined() && r.is_map(g, path + ".guard")) {
    auto gp = path + ".guard";
    r.only_keys(g, gp, {"warn_mismatch_rate", "critical_mismatch_rate", "min_samples", "on_critical"});
    r.number(g, "warn_mismatch_rate", gp, t.guard.warn_mismatch_rate, 0, 1);
    r.number(g, "critical_mismatch_rate", gp, t.guard.critical_mismatch_rate, 0, 1);
    r.integer(g, "min_samples", gp, t.guard.min_samples, 1u, 100000000u);
    r.enumeration(g, "on_critical", gp, t.guard.on_critical,
                  {{"rollback", OnCritical::Rollback}, {"freeze", OnCritical::Freeze}});
  }
  r.enumeration(n, "on_unsupported", path, t.on_unsupported,
                {{"forward", OnUnsupported::Forward}, {"reject", OnUnsupported::Reject}});
  r.string_list(n, "migrations", path, t.migrations);
}

void read_migration(Reader& r, const YAML::Node& n, const std::string& path, Migration& m) {
  if (!r.is_map(n, path)) return;
  r.only_keys(n, path, {"table", "legacy_column", "unified_column", "entity_column", "map", "reverse", "unmapped",
                        "unreversible", "transitions", "terminal"});
  std::string table;
  r.str(n, "table", path, table, true);
  if (auto dot = table.find('.'); dot != std::string::npos) {
    m.schema = table.substr(0, dot);
    m.table = table.substr(dot + 1);
  } else {
    m.table = table;
  }
  r.str(n, "legacy_column", path, m.legacy_column, true);
  r.str(n, "unified_column", path, m.unified_column, true);
  r.str(n, "entity_column", path, m.entity_column);
  r.string_map(n, "map", path, m.map);
  r.string_map(n, "reverse", path, m.reverse);
  if (auto u = n["unmapped"]; u.IsDefined() && u.IsNull()) m.unmapped = Unmapped::Null;  // `unmapped: null`, unquoted
  r.enumeration(n, "unmapped", path, m.unmapped,
                {{"keep", Unmapped::Keep}, {"copy", Unmapped::Copy}, {"null", Unmapped::Null},
                 {"reject", Unmapped::Reject}});
  if (auto u = n["unreversible"]; u.IsDefined() && u.IsNull()) m.unreversible = Unreversible::Null;  // unquoted null
  r.enumeration(n, "unreversible", path, m.unreversible,
                {{"legacy", Unreversible::Legacy}, {"null", Unreversible::Null}});
  if (auto tr = n["transitions"]; tr.IsDefined()) {
    if (!tr.IsSequence()) r.error(tr, path + ".transitions", "expected a list of lists");
    for (const auto& chain : tr) {
      std::vector<std::string> steps;
      if (!chain.IsSequence()) {
        r.error(chain, path + ".transitions", "expected a list of states");
        continue;
      }
      for (const auto& s : chain) {
        if (s.IsScalar()) steps.push_back(s.Scalar());
        else r.error(s, path + ".transitions", "expected a state name");
      }
      m.transitions.push_back(std::move(steps));
    }
  }
  r.string_list(n, "terminal", path, m.terminal);
  if (m.map.empty()) r.error(n, path + ".map", "a migration needs at least one mapped value");
  if (!m.legacy_column.empty() && m.legacy_column == m.unified_column)
    r.error(n["unified_column"], path + ".unified_column", "must differ from legacy_column");
  // The entity is the row, named by its key: a status column cannot be it.
  if (m.entity_column.empty())
    r.error(n["entity_column"], path + ".entity_column", "must name a column");
  else if (m.entity_column == m.legacy_column || m.entity_column == m.unified_column)
    r.error(n["entity_column"], path + ".entity_column", "must differ from legacy_column and unified_column");
  // reverse picks the legacy value a unified one reads back as, so it can
  // only name pairs the map itself has. (A many-to-one map without reverse is
  // accepted while reads are not switched; SPEC will need it for read_switch.)
  std::map<std::string, std::vector<std::string>> sources;
  for (const auto& [legacy, unified] : m.map) sources[unified].push_back(legacy);
  for (const auto& [unified, legacy] : m.reverse) {
    if (!sources.count(unified))
      r.error(n["reverse"], path + ".reverse", "\"" + unified + "\" is not a unified value of the map");
    else if (std::find(sources[unified].begin(), sources[unified].end(), legacy) == sources[unified].end())
      r.error(n["reverse"], path + ".reverse." + unified, "\"" + legacy + "\" does not map to \"" + unified + "\"");
  }
}

// The node a tenant-relative path ("canary.percent") names, or the deepest
// one of it the file has, for the line of a finding.
YAML::Node locate(const YAML::Node& tenant, const std::string& path) {
  YAML::Node at = tenant;
  size_t from = 0;
  while (from < path.size()) {
    auto dot = path.find('.', from);
    auto key = path.substr(from, dot == std::string::npos ? std::string::npos : dot - from);
    const YAML::Node& parent = at;
    YAML::Node next = parent.IsMap() ? parent[key] : YAML::Node();
    if (!next.IsDefined()) break;
    at.reset(next);
    from = dot == std::string::npos ? path.size() : dot + 1;
  }
  return at;
}

// The table name goes into SQL text (identifiers cannot be parameters), so
// it is a plain identifier; 48 characters leave room for "_history" and
// "_sidecars" under MySQL's 64.
bool plain_identifier(const std::string& s) {
  if (s.empty() || s.size() > 48 || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  for (char ch : s)
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_')) return false;
  return true;
}

void check_flags_store(Reader& r, const YAML::Node& root, const Config& c) {
  if (!c.flags_store || c.flags_store->target.empty()) return;
  auto node = root["flags_store"];
  const auto& fs = *c.flags_store;
  if (!plain_identifier(fs.table))
    r.error(node["table"], "flags_store.table",
            "must be a plain identifier (letters, digits, _; not starting with a digit; at most 48 characters)");
  const Target* found = nullptr;
  for (const auto& l : c.listeners) {
    const auto* t = l.target(fs.target);
    if (!t) continue;
    if (found && !(*found == *t))
      r.error(node["target"], "flags_store.target",
              "target \"" + fs.target + "\" is defined differently in several listeners; give them distinct names");
    found = found ? found : t;
  }
  if (!found) {
    r.error(node["target"], "flags_store.target", "no target named \"" + fs.target + "\" in any listener");
    return;
  }
  if (found->user.empty())
    r.error(node["target"], "flags_store.target",
            "target \"" + fs.target + "\" has no user: the store is written as the target's user (and password_env)");
  if (found->database.empty())
    r.error(node["target"], "flags_store.target",
            "target \"" + fs.target + "\" has no database: the store's tables live in that target's database");
}

// Checks that need the whole file: names that refer to other sections.
void cross_check(Reader& r, const YAML::Node& root, Config& c) {
  std::set<std::string> names;
  std::set<std::string> addrs;
  for (size_t i = 0; i < c.listeners.size(); ++i) {
    const auto& l = c.listeners[i];
    auto node = root["listeners"][i];
    if (!names.insert(l.name).second) r.error(node, Reader::index("listeners", i), "duplicate listener name");
    if (!addrs.insert(l.listen.str()).second)
      r.error(node, Reader::index("listeners", i), "listen address " + l.listen.str() + " used twice");
  }
  std::set<std::string> tenant_names;
  for (size_t i = 0; i < c.tenants.size(); ++i) {
    auto& t = c.tenants[i];
    auto node = root["tenants"][i];
    auto path = Reader::index("tenants", i);
    // The admin API, state_file and metric labels all key tenants by name.
    if (!t.name.empty() && !tenant_names.insert(t.name).second)
      r.error(node["name"], path + ".name", "duplicate tenant name \"" + t.name + "\"");
    auto findings = check_tenant_flags(c, t);
    for (const auto& e : findings.errors) r.error(locate(node, e.path), Reader::join(path, e.path), e.message);
    for (const auto& w : findings.warnings) r.warn(locate(node, w.path), Reader::join(path, w.path), w.message);
    if (!t.match.listener.empty() && !c.listener(t.match.listener))
      r.error(node["match"], path + ".match.listener", "no listener named \"" + t.match.listener + "\"");
    if (t.guard.warn_mismatch_rate > t.guard.critical_mismatch_rate)
      r.error(node["guard"], path + ".guard", "warn_mismatch_rate is above critical_mismatch_rate");
    for (const auto& m : t.migrations)
      if (!c.migration(m)) r.error(node["migrations"], path + ".migrations", "no migration named \"" + m + "\"");
  }
  check_flags_store(r, root, c);
}

}  // namespace

LoadResult load_string(const std::string& yaml, const std::string& source) {
  LoadResult result;
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    result.errors.push_back({e.mark.line + 1, "", e.msg});
    return result;
  }
  result.errors = check_yaml_structure(yaml);
  find_duplicate_keys(root, "", result.errors);
  if (!result.errors.empty()) return result;
  Reader r;
  auto c = std::make_shared<Config>();
  c->source = source;
  if (!root.IsMap()) {
    r.error(root, "", "the config must be a YAML mapping");
    result.errors = std::move(r.errors);
    return result;
  }
  try {
    r.only_keys(root, "", {"listeners", "admin", "state_file", "flags_store", "tenants", "migrations", "runtime"});
    auto listeners = root["listeners"];
    if (!listeners.IsDefined() || !listeners.IsSequence() || listeners.size() == 0) {
      r.error(listeners.IsDefined() ? listeners : root, "listeners", "at least one listener is required");
    } else {
      for (size_t i = 0; i < listeners.size(); ++i) {
        Listener l;
        read_listener(r, listeners[i], Reader::index("listeners", i), l);
        c->listeners.push_back(std::move(l));
      }
    }
    if (auto a = root["admin"]; a.IsDefined() && r.is_map(a, "admin")) {
      r.only_keys(a, "admin", {"listen", "token_env"});
      Endpoint e;
      r.endpoint(a, "listen", "admin", e, false, Reader::Host::IpOnly);
      // An admin section without an address serves on loopback only.
      c->admin.listen = e.port ? e : Endpoint{"127.0.0.1", 9187};
      r.str(a, "token_env", "admin", c->admin.token_env);
    }
    r.str(root, "state_file", "", c->state_file);
    if (auto fs = root["flags_store"]; fs.IsDefined() && r.is_map(fs, "flags_store")) {
      r.only_keys(fs, "flags_store", {"target", "table", "poll_ms"});
      FlagsStore s;
      r.str(fs, "target", "flags_store", s.target, true);
      r.str(fs, "table", "flags_store", s.table);
      r.integer(fs, "poll_ms", "flags_store", s.poll_ms, 10u, 3600000u);
      c->flags_store = s;
    }
    if (auto ms = root["migrations"]; ms.IsDefined() && r.is_map(ms, "migrations")) {
      for (const auto& kv : ms) {
        Migration m;
        m.name = kv.first.Scalar();
        read_migration(r, kv.second, "migrations." + m.name, m);
        c->migrations.push_back(std::move(m));
      }
    }
    if (auto ts = root["tenants"]; ts.IsDefined()) {
      if (!ts.IsSequence()) r.error(ts, "tenants", "expected a list");
      for (size_t i = 0; ts.IsSequence() && i < ts.size(); ++i) {
        Tenant t;
        read_tenant(r, ts[i], Reader::index("tenants", i), t);
        c->tenants.push_back(std::move(t));
      }
    }
    if (auto rt = root["runtime"]; rt.IsDefined() && r.is_map(rt, "runtime")) {
      r.only_keys(rt, "runtime", {"workers", "drain_timeout_ms", "log_level", "max_client_connections"});
      r.integer(rt, "max_client_connections", "runtime", c->runtime.max_client_connections, 0u, 10000000u);
      r.integer(rt, "workers", "runtime", c->runtime.workers, 0u, 256u);
      r.integer(rt, "drain_timeout_ms", "runtime", c->runtime.drain_timeout_ms, 0u, 3600000u);
      r.enumeration(rt, "log_level", "runtime", c->runtime.log_level,
                    {{"trace", std::string("trace")}, {"debug", std::string("debug")},
                     {"info", std::string("info")}, {"warn", std::string("warn")},
                     {"error", std::string("error")}});
    }
    cross_check(r, root, *c);
  } catch (const YAML::Exception& e) {
    r.errors.push_back({e.mark.line + 1, "", e.msg});
  }
  result.errors = std::move(r.errors);
  result.warnings = std::move(r.warnings);
  if (result.errors.empty()) result.config = std::move(c);
  return result;
}

LoadResult load_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    LoadResult r;
    r.errors.push_back({0, "", "cannot read " + path});
    return r;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return load_string(ss.str(), path);
}

}  // namespace sy::config

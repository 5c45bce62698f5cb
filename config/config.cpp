#include "config/config.h"

namespace sy::config {

const char* to_string(Phase p) {
  switch (p) {
    case Phase::Off: return "off";
    case Phase::Observe: return "observe";
    case Phase::DualWrite: return "dual_write";
    case Phase::ReadSwitch: return "read_switch";
    case Phase::Cleanup: return "cleanup";
  }
  return "off";
}

std::optional<Phase> parse_phase(const std::string& s) {
  for (Phase p : kPhases)
    if (s == to_string(p)) return p;
  return std::nullopt;
}

const char* to_string(StickyBy s) {
  switch (s) {
    case StickyBy::Session: return "session";
    case StickyBy::User: return "user";
    case StickyBy::ClientAddress: return "client_addr";
    case StickyBy::ApplicationName: return "application_name";
  }
  return "session";
}

std::optional<StickyBy> parse_sticky_by(const std::string& s) {
  for (StickyBy v : kStickyBy)
    if (s == to_string(v)) return v;
  if (s == "client_address") return StickyBy::ClientAddress;  // accepted alias
  return std::nullopt;
}

namespace {
template <class E, size_t N>
std::string joined(const E (&values)[N]) {
  std::string out;
  for (E v : values) out += (out.empty() ? "" : " | ") + std::string(to_string(v));
  return out;
}
}  // namespace

std::string phase_names() { return joined(kPhases); }
std::string sticky_by_names() { return joined(kStickyBy); }

const Target* Listener::target(const std::string& n) const {
  for (const auto& t : targets)
    if (t.name == n) return &t;
  return nullptr;
}

const Listener* Config::listener(const std::string& name) const {
  for (const auto& l : listeners)
    if (l.name == name) return &l;
  return nullptr;
}

const Migration* Config::migration(const std::string& name) const {
  for (const auto& m : migrations)
    if (m.name == name) return &m;
  return nullptr;
}

const Listener* Config::flags_store_listener() const {
  if (!flags_store) return nullptr;
  for (const auto& l : listeners)
    if (l.target(flags_store->target)) return &l;
  return nullptr;
}

std::vector<Unapplied> unapplied_settings(const Tenant& t) {
  std::vector<Unapplied> out;
  auto runs = [&](Phase p) { return t.phase == p || (t.canary.phase == p && t.canary.percent > 0); };
  if (!t.read_target.empty() || !t.canary.read_target.empty())
    out.push_back({t.read_target.empty() ? "canary.read_target" : "read_target",
                   "read routing is not applied in this build: reads stay on the primary (the column-level read switch "
                   "applies)"});
  if (runs(Phase::Cleanup))
    out.push_back({"phase",
                   "cleanup stops writing the legacy columns: reads the read switch cannot serve (counted as "
                   "rewrites_total{outcome=\"read_unsupported\"}: SELECT *, views, functions) and readers that "
                   "bypass switchyard see stale legacy values"});
  if (t.canary.phase && t.canary.percent > 0 && *t.canary.phase <= t.phase)
    out.push_back({"canary", std::string("the canary runs ") + to_string(*t.canary.phase) +
                                 ", not a later phase than the tenant's " + to_string(t.phase) +
                                 " (a canaried rollback)"});
  return out;
}

}  // namespace sy::config

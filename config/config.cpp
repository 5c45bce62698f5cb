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
  for (Phase p : {Phase::Off, Phase::Observe, Phase::DualWrite, Phase::ReadSwitch, Phase::Cleanup})
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
  for (StickyBy v : {StickyBy::Session, StickyBy::User, StickyBy::ClientAddress, StickyBy::ApplicationName})
    if (s == to_string(v)) return v;
  if (s == "client_address") return StickyBy::ClientAddress;  // accepted alias
  return std::nullopt;
}

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

}  // namespace sy::config

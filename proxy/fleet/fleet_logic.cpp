#include "proxy/fleet/fleet_logic.h"

#include <rapidjson/document.h>

#include <charconv>

#include "proxy/flags/flags_json.h"

namespace sy::proxy::fleet {

std::string overrides_json(const TenantOverrides& o) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  write_overrides(w, o);
  return {buf.GetString(), buf.GetSize()};
}

FlagChange replace_with(const TenantOverrides& o) {
  FlagChange c;
  c.phase = o.phase ? Change<config::Phase>(*o.phase) : Change<config::Phase>(from_file);
  c.read_target = o.read_target ? Change<std::string>(*o.read_target) : Change<std::string>(from_file);
  c.shadow_sample_percent =
      o.shadow_sample_percent ? Change<double>(*o.shadow_sample_percent) : Change<double>(from_file);
  if (o.canary) {
    c.canary.phase = o.canary->phase;
    c.canary.read_target = o.canary->read_target;
    c.canary.percent = o.canary->percent;
    c.canary.sticky_by = o.canary->sticky_by;
  } else {
    c.canary = {from_file, from_file, from_file, from_file};
  }
  return c;
}

DecodedOverrides decode_overrides(const config::Config& cfg, const config::Tenant& file, std::string_view json) {
  DecodedOverrides out;
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    out.error = "overrides are not a JSON object";
    return out;
  }
  if (doc.ObjectEmpty()) return out;
  auto decoded = decode_flag_change(doc);
  if (!decoded.error.empty()) {
    out.error = decoded.error;
    return out;
  }
  auto r = lay_change(cfg, file, out.overrides, decoded.change);
  if (r.status != 200) out.error = r.error;
  return out;
}

PlannedWrite plan_write(const config::Config& cfg, const config::Tenant& file, const StoreRow* row,
                        const FlagChange& change) {
  PlannedWrite w;
  TenantOverrides current;
  if (row) {
    auto decoded = decode_overrides(cfg, file, row->overrides);
    if (!decoded.error.empty()) {
      w.result = {409, "the store's row for tenant " + file.name + " (version " + std::to_string(row->version) +
                           ") does not fit this sidecar's config: " + decoded.error, {}};
      return w;
    }
    current = decoded.overrides;
    w.expected = row->version;
  }
  w.from_json = overrides_json(current);
  w.next = current;
  w.result = lay_change(cfg, file, w.next, change);
  w.to_json = overrides_json(w.next);
  return w;
}

uint64_t fleet_version(const std::vector<StoreRow>& rows) {
  uint64_t sum = 0;
  for (const auto& r : rows) sum += r.version;
  return sum;
}

std::optional<uint64_t> parse_if_match(std::string_view h) {
  while (!h.empty() && h.front() == ' ') h.remove_prefix(1);
  while (!h.empty() && h.back() == ' ') h.remove_suffix(1);
  if (h.size() >= 2 && h.front() == '"' && h.back() == '"') h = h.substr(1, h.size() - 2);
  if (h.empty()) return std::nullopt;
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(h.data(), h.data() + h.size(), v);
  if (ec != std::errc() || end != h.data() + h.size()) return std::nullopt;
  return v;
}

std::vector<SidecarView> view_fleet(const std::vector<SidecarRow>& rows, uint64_t fleet_version,
                                    double stale_after_seconds) {
  std::vector<SidecarView> out;
  for (const auto& r : rows) {
    SidecarView v{r, r.flags_version < fleet_version, 0, r.age_seconds > stale_after_seconds};
    if (v.lagging) v.behind = fleet_version - r.flags_version;
    out.push_back(std::move(v));
  }
  return out;
}

}  // namespace sy::proxy::fleet

#pragma once
// The flags store's rules, socket-free: what a row holds, how a change is
// laid on the row it was read from (compare-and-set on its version), how a
// row becomes the typed change TenantDirectory::apply takes, and which
// sidecars lag. FleetSync (fleet_sync.h) does the I/O around these.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "proxy/flags/flag_change.h"

namespace sy::proxy::fleet {

//! One tenant's row of the store.
struct StoreRow {
  std::string tenant;
  uint64_t version = 0;   //!< 1 for the first change; a tenant without a row is version 0
  std::string overrides;  //!< JSON, state_file's shape: {"phase": ..., "canary": {...}}
  std::string who;
};

//! `o` as the store (and state_file) hold it.
std::string overrides_json(const TenantOverrides& o);

//! The change that makes a tenant's overrides exactly `o`: every setting set
//! to `o`'s value, or put back to the file's value where `o` has none.
FlagChange replace_with(const TenantOverrides& o);

struct DecodedOverrides {
  TenantOverrides overrides;
  std::string error;  //!< not empty: this sidecar's config does not accept the row
};
//! A row's overrides for the file's tenant `file`: the same decoder and rules
//! as state_file and a PATCH.
DecodedOverrides decode_overrides(const config::Config& cfg, const config::Tenant& file, std::string_view json);

//! A write to send: `change` laid on the row it was read from.
struct PlannedWrite {
  ChangeResult result;         //!< 200, or the rules' 400/422 (nothing to send)
  TenantOverrides next;        //!< the overrides after the change
  std::string from_json, to_json;
  uint64_t expected = 0;       //!< the version the compare-and-set expects
};
//! `row` null: the tenant has no row yet (version 0, no overrides). A row this
//! config cannot read is a 409 (another sidecar's config differs): nothing is
//! laid on state nobody can see.
PlannedWrite plan_write(const config::Config& cfg, const config::Tenant& file, const StoreRow* row,
                        const FlagChange& change);

//! The fleet's flag version: the sum of the rows' versions, i.e. how many
//! changes the store holds. A sidecar that applied every row has the same sum.
uint64_t fleet_version(const std::vector<StoreRow>& rows);

//! If-Match: `5` or `"5"` (an ETag); nullopt when absent or not a version.
std::optional<uint64_t> parse_if_match(std::string_view header);

//! A heartbeat row as read back.
struct SidecarRow {
  std::string id;
  uint64_t flags_version = 0;
  uint64_t compared = 0, mismatches = 0;
  std::string guard;  //!< JSON object: tenant -> "ok" | "warn" | "tripped"
  double age_seconds = 0;
};
//! A sidecar lags when it applied fewer changes than the store holds; its
//! heartbeat is stale when older than `stale_after_seconds` (gone, or cut off).
struct SidecarView {
  SidecarRow row;
  bool lagging = false;
  uint64_t behind = 0;
  bool stale = false;
};
std::vector<SidecarView> view_fleet(const std::vector<SidecarRow>& rows, uint64_t fleet_version,
                                    double stale_after_seconds);

}  // namespace sy::proxy::fleet

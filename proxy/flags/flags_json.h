#pragma once
// Flags as JSON, one shape for all: a PATCH body and a tenant's entry in
// state_file decode to a FlagChange here; GET /v1/tenants and state_file
// write canaries and overrides here (rapidjson, so every string is escaped).
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <string>
#include <string_view>

#include "proxy/flags/flag_change.h"

namespace sy::proxy {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

struct DecodedChange {
  FlagChange change;
  std::string error;  //!< not empty: the body is not a change (HTTP 400)
};

//! {"phase": "dual_write", "canary": {"percent": 20}, "read_target": "replica",
//! "shadow": {"sample_percent": 5}}. `null` puts a setting back to the file's
//! value, except canary.phase, where null means "no phase of its own".
//! Only the shape and names are checked here; the rules are config/tenant_rules.
DecodedChange decode_flag_change(const rapidjson::Value& body);

//! Any bytes, with their length (names may hold NULs; rapidjson escapes them).
void write_string(JsonWriter& w, std::string_view s);
void write_canary(JsonWriter& w, const config::Canary& c);
//! The settings `o` holds, and only those.
void write_overrides(JsonWriter& w, const TenantOverrides& o);

}  // namespace sy::proxy

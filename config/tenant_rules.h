#pragma once
// The rules a tenant's flags (phase, canary, read_target, shadow) must obey,
// in one place: the loader checks the file's tenants with them, and a runtime
// change (admin PATCH, state_file, a guard) checks the tenant it would produce,
// so nothing the file refuses can get in through the API, or the other way round.
#include <string>
#include <vector>

#include "config/config.h"

namespace sy::config {

struct RuleFinding {
  std::string path;     //!< the setting, relative to the tenant: "canary.percent"; empty = the tenant
  std::string message;
};

struct TenantFindings {
  std::vector<RuleFinding> errors;    //!< the tenant must be refused
  std::vector<RuleFinding> warnings;  //!< valid, but not (fully) applied in this build
};

//! Checks `t`'s flags against `cfg` (its listeners and their targets).
TenantFindings check_tenant_flags(const Config& cfg, const Tenant& t);

//! The first unified value that several legacy values map to and that
//! `reverse` does not settle; empty when every unified value reads back as one
//! legacy value.
std::string ambiguous_reverse(const Migration& m);

//! Percentages run from 0 to 100 in steps of 0.01 (SPEC: canary bucketing).
bool valid_percent(double p);

}  // namespace sy::config

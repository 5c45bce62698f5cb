#pragma once
// A runtime change of a tenant's flags, typed: what the admin API decodes a
// PATCH body into, what state_file holds, and what a guard asks for directly:
//
//   dir.apply("acme", {.phase = config::Phase::DualWrite}, "guard");
//   dir.apply("acme", {.canary = {.percent = 20}}, "api:10.0.0.7:51234");
//   dir.apply("acme", {.read_target = from_file}, "api:...");  // back to the file's value
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "config/config.h"

namespace sy::proxy {

//! Marks a setting to go back to the config file's value (its runtime value is dropped).
struct FromFile {};
inline constexpr FromFile from_file{};

//! One setting of a change: left as it is (the default), set to a value, or
//! put back to the file's value.
template <class T>
class Change {
 public:
  Change() = default;
  template <class U>
    requires std::is_constructible_v<T, U&&> && (!std::is_same_v<std::decay_t<U>, FromFile>) &&
             (!std::is_same_v<std::decay_t<U>, Change>)
  Change(U&& value) : state_(T(std::forward<U>(value))) {}
  Change(FromFile) : state_(FromFile{}) {}

  bool leaves() const { return std::holds_alternative<std::monostate>(state_); }
  bool resets() const { return std::holds_alternative<FromFile>(state_); }
  //! The new value when the change sets one, else null.
  const T* value() const { return std::get_if<T>(&state_); }

  //! `current` after this change; `file` is the config file's value.
  T applied_to(const T& current, const T& file) const { return value() ? *value() : resets() ? file : current; }

 private:
  std::variant<std::monostate, T, FromFile> state_;
};

//! The canary's settings change one by one, so a PATCH of the percent keeps the phase.
struct CanaryChange {
  Change<std::optional<config::Phase>> phase;  //!< set to nullopt: the canary runs no phase of its own
  Change<std::string> read_target;             //!< set to "": none
  Change<double> percent;
  Change<config::StickyBy> sticky_by;
  bool leaves() const { return phase.leaves() && read_target.leaves() && percent.leaves() && sticky_by.leaves(); }
};

struct FlagChange {
  Change<config::Phase> phase;
  CanaryChange canary;
  Change<std::string> read_target;  //!< set to "": the listener's primary
  Change<double> shadow_sample_percent;
  bool empty() const { return phase.leaves() && canary.leaves() && read_target.leaves() && shadow_sample_percent.leaves(); }
};

//! Settings changed at run time; unset fields come from the file.
struct TenantOverrides {
  std::optional<config::Phase> phase;
  std::optional<config::Canary> canary;
  std::optional<std::string> read_target;
  std::optional<double> shadow_sample_percent;
  bool empty() const { return !phase && !canary && !read_target && !shadow_sample_percent; }
};

struct ChangeResult {
  int status = 200;       //!< HTTP-style: 200, 400, 404, 422, 500
  std::string error;      //!< when status != 200
  std::vector<std::string> details;  //!< the errors (422, reload), or on success what the settings do not apply
};

//! The file's tenant with the runtime settings laid over it.
config::Tenant with_overrides(config::Tenant t, const TenantOverrides& o);

//! Lays `change` on `overrides` (of the file's tenant `file`) if the tenant it
//! produces passes config/tenant_rules; `overrides` is untouched otherwise.
//! 200 with the rules' warnings in `details`, or 400 (empty change) or 422
//! with each broken rule in `details`.
ChangeResult lay_change(const config::Config& cfg, const config::Tenant& file, TenantOverrides& overrides,
                        const FlagChange& change);

}  // namespace sy::proxy

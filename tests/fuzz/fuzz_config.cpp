// libFuzzer target for the config loader. The config arrives from a file an
// operator edits, from a ConfigMap, and on every reload while the proxy
// serves: no input may crash it, loop, or come back both accepted and with
// errors. What it accepts must survive the checks the admin API repeats.
#include <cstddef>
#include <cstdint>
#include <string>

#include "config/loader.h"

namespace {
void require(bool ok) {
  if (!ok) __builtin_trap();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string yaml(reinterpret_cast<const char*>(data), size);
  auto r = sy::config::load_string(yaml, "<fuzz>");
  // Either a config or errors, never both and never neither.
  require(r.ok() == r.errors.empty());
  if (r.ok()) {
    require(!r.config->listeners.empty());
    for (const auto& l : r.config->listeners) require(l.listen.port != 0);
  }
  for (const auto& e : r.errors) require(!e.message.empty() && e.line >= 0);
  return 0;
}

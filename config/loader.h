#pragma once
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"

namespace sy::config {

struct ConfigError {
  int line = 0;      //!< 1-based line in the file; 0 when not tied to a line
  std::string path;  //!< e.g. listeners[0].targets.legacy.address
  std::string message;
  std::string str() const;
};

//! Either a config or every error found: the loader does not stop at the first.
//! Warnings name settings that are valid but will not do what they may seem to
//! in this build (check-config prints them; the proxy logs them).
struct LoadResult {
  std::shared_ptr<const Config> config;
  std::vector<ConfigError> errors;
  std::vector<ConfigError> warnings;
  bool ok() const { return config != nullptr; }
};

LoadResult load_file(const std::string& path);
LoadResult load_string(const std::string& yaml, const std::string& source = "<string>");

}  // namespace sy::config

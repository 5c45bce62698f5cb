#pragma once
// `switchyard backfill`: sets the unified column from the legacy one for rows
// written before dual-writing began, in key-ordered batches, resumable.
#include <string>

#include "config/config.h"

namespace sy::proxy {

struct BackfillOptions {
  std::string tenant;
  std::string target;    //!< empty: the listener's primary
  unsigned batch = 1000;
  unsigned sleep_ms = 0;  //!< pause between batches
  std::string key;        //!< empty: the table's single-column primary key
  std::string progress;   //!< empty: next to state_file, else in the working directory
  bool restart = false;   //!< ignore saved progress
};

//! Returns 0 when every migration is done, 2 on an error (progress so far is
//! kept: running it again continues after the last finished batch).
int backfill(const config::Config& cfg, const BackfillOptions& options);

}  // namespace sy::proxy

#pragma once
// The client's own answer to a sampled read that is shadowed on another
// target, as a PostgreSQL session keeps it while relaying it
// (pg_shadow_capture.cpp). Included where PgSession is defined and destroyed.
#include "protocol/pg/request_tracker.h"
#include "proxy/session/pg/pg_session.h"
#include "proxy/shadow/shadow_runner.h"

namespace sy::proxy {

struct PgSession::KeptAnswer {
  ShadowRequest request;  //!< handed to the runner once the answer is complete
  AnswerSource source;
  pg::RequestId answered = 0;  //!< the Query or Execute whose reply it is; 0 while the Execute is awaited
  size_t bytes = 0;            //!< of rows kept so far
  QueryResult answer;          //!< rows and tag; columns come from the other target
};

}  // namespace sy::proxy

#pragma once
// Faults a test asks the proxy to inject, so that crash containment can be
// shown on a real session. Only the test binary `switchyard-faults`
// (tests/faults/) ever builds one; the switchyard binary passes none, and a
// session without a plan checks one null pointer.
#include <string>

namespace sy::proxy {

struct FaultPlan {
  //! Name of the session loop that throws when it next runs a step:
  //! "from_server" or "from_client". Empty: none.
  std::string throw_in;
  //! Only sessions with this application_name (MySQL: program_name) fault,
  //! so a test can show that the others go on being served.
  std::string application_name;
};

}  // namespace sy::proxy

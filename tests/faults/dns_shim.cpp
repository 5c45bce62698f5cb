// A resolver the tests control, for one host name: LD_PRELOADed into the
// proxy by tests/integration/test_target_timeouts.py, so a target's name can
// resolve, stop resolving, or hang, while the proxy runs its real lookups
// (Asio's resolver thread calls getaddrinfo as usual).
//
//   SY_FAULT_DNS_NAME=NAME   the one name this shim answers for
//   SY_FAULT_DNS_FILE=PATH   what NAME is now, read at every lookup:
//                              an IP address   NAME resolves to it
//                              "hang"          the lookup blocks while the file says so
//                              anything else   EAI_NONAME (the name no longer exists)
// Every other name goes to the real getaddrinfo.
#include <dlfcn.h>
#include <netdb.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

namespace {

using GetAddrInfo = int (*)(const char*, const char*, const struct addrinfo*, struct addrinfo**);

std::string current_answer(const char* file) {
  std::ifstream in(file);
  std::string word;
  in >> word;
  return word;
}

}  // namespace

extern "C" int getaddrinfo(const char* node, const char* service, const struct addrinfo* hints,
                           struct addrinfo** res) {
  static auto real = reinterpret_cast<GetAddrInfo>(dlsym(RTLD_NEXT, "getaddrinfo"));
  const char* name = std::getenv("SY_FAULT_DNS_NAME");
  const char* file = std::getenv("SY_FAULT_DNS_FILE");
  if (!node || !name || !file || std::strcmp(node, name) != 0) return real(node, service, hints, res);
  std::string answer = current_answer(file);
  while (answer == "hang") {
    usleep(50 * 1000);
    answer = current_answer(file);
  }
  struct addrinfo numeric {};
  if (hints) numeric = *hints;
  numeric.ai_flags |= AI_NUMERICHOST;
  if (real(answer.c_str(), service, &numeric, res) == 0) return 0;
  return EAI_NONAME;
}

#pragma once
// What both dialects' routable-read checks answer (rewrite/pg/routable_read.h,
// rewrite/mysql/routable_read.h): may a read target answer this statement,
// and if not, why (a sentence for the log and the admin API).
#include <functional>
#include <set>
#include <string>

namespace sy::rewrite {

struct RouteVerdict {
  //! Empty when the statement may be routed; else the first reason it may not.
  std::string keep_on_primary;
  bool routable() const { return keep_on_primary.empty(); }
};

//! Function names (lower case, unqualified or `schema.name`) a tenant
//! declares safe to run on its read target, beyond the built-in list.
using FunctionAllowList = std::set<std::string, std::less<>>;

}  // namespace sy::rewrite

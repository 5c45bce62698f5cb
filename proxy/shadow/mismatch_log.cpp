#include "proxy/shadow/mismatch_log.h"

#include "proxy/telemetry/json_writer.h"

namespace sy::shadow {

namespace {
void write(json::Writer& w, const MismatchRecord& r) {
  w.StartObject();
  json::member(w, "at", r.at);
  json::member(w, "tenant", r.tenant);
  json::member(w, "fingerprint", r.fingerprint);
  json::member(w, "sql", r.sql);
  json::member(w, "phase", r.phase);
  json::member(w, "compared", r.compared);
  json::key(w, "params");
  if (r.params_redacted) {
    json::string(w, "redacted (" + std::to_string(r.param_count) + ")");
  } else {
    w.StartArray();
    for (const auto& p : r.params)
      if (p) json::string(w, *p);
      else w.Null();
    w.EndArray();
  }
  json::key(w, "rows_a");
  w.Uint64(r.rows_a);
  json::key(w, "rows_b");
  w.Uint64(r.rows_b);
  json::key(w, "rows");
  w.StartArray();
  for (const auto& k : r.rows) json::string(w, k);
  w.EndArray();
  json::member(w, "diff", r.diff);
  w.EndObject();
}
}  // namespace

std::string to_json(const MismatchRecord& r) {
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  write(w, r);
  return {buf.GetString(), buf.GetSize()};
}

void MismatchLog::push(MismatchRecord r) {
  std::lock_guard lock(mu_);
  records_.push_front(std::move(r));
  if (records_.size() > kCapacity) records_.pop_back();
  ++total_;
}

uint64_t MismatchLog::total() const {
  std::lock_guard lock(mu_);
  return total_;
}

std::vector<MismatchRecord> MismatchLog::latest(const std::string& tenant, size_t n) const {
  std::vector<MismatchRecord> out;
  std::lock_guard lock(mu_);
  for (const auto& r : records_) {
    if (out.size() >= n) break;
    if (r.tenant == tenant) out.push_back(r);
  }
  return out;
}

std::string MismatchLog::json(const std::string& tenant) const {
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  w.StartObject();
  json::key(w, "mismatches");
  w.StartArray();
  {
    std::lock_guard lock(mu_);
    for (const auto& r : records_)
      if (tenant.empty() || r.tenant == tenant) write(w, r);
  }
  w.EndArray();
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

}  // namespace sy::shadow

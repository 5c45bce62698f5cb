#include "proxy/admin/admin_api.h"

#include <openssl/crypto.h>


#include "proxy/shadow/shadow_service.h"
#include "proxy/telemetry/metrics.h"

namespace sy::proxy {

namespace {

AdminResponse json(int status, std::string body) { return {status, "application/json", std::move(body), {}}; }

void write_strings(JsonWriter& w, const char* key, const std::vector<std::string>& items) {
  w.Key(key);
  w.StartArray();
  for (const auto& item : items) write_string(w, item);
  w.EndArray();
}

std::string text(const rapidjson::StringBuffer& buf) { return {buf.GetString(), buf.GetSize()}; }

// {"error": msg}, with each reason in "errors" when there are several.
AdminResponse error(int status, const std::string& msg, const std::vector<std::string>& errors = {}) {
  return json(status, json_error(msg, errors));
}

}  // namespace

std::string json_error(std::string_view message, const std::vector<std::string>& errors) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("error");
  write_string(w, message);
  if (!errors.empty()) write_strings(w, "errors", errors);
  w.EndObject();
  return text(buf);
}

bool AdminApi::authorized(const AdminRequest& req, AdminResponse& denied) const {
  if (deps_.token.empty()) {
    denied = error(403, "changes are disabled: set admin.token_env to an environment variable holding a token");
    return false;
  }
  const std::string prefix = "Bearer ";
  const std::string& h = req.authorization;
  bool ok = h.size() == prefix.size() + deps_.token.size() && h.compare(0, prefix.size(), prefix) == 0 &&
            CRYPTO_memcmp(h.data() + prefix.size(), deps_.token.data(), deps_.token.size()) == 0;  // constant time
  if (!ok) {
    denied = error(401, "missing or wrong bearer token");
    denied.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"switchyard\"");
  }
  return ok;
}

AdminResponse AdminApi::handle(const AdminRequest& req) const {
  std::string path = req.target.substr(0, req.target.find('?'));
  const std::string& m = req.method;
  const bool read = m == "GET" || m == "HEAD";

  if (path == "/healthz" && read) return json(200, "{\"status\":\"ok\"}");
  if (path == "/readyz" && read) {
    auto reasons = deps_.not_ready ? deps_.not_ready() : std::vector<std::string>{};
    if (reasons.empty()) return json(200, "{\"ready\":true}");
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    w.Key("ready");
    w.Bool(false);
    write_strings(w, "reasons", reasons);
    w.EndObject();
    return json(503, text(buf));
  }
  if (path == "/metrics" && read)
    return {200, "text/plain; version=0.0.4; charset=utf-8", deps_.metrics->render(), {}};
  if (path == "/" && read) return status_page();
  if (path == "/v1/tenants" && read) return json(200, deps_.directory->tenants_json());
  if (path == "/v1/mismatches" && read) {
    if (!deps_.shadow) return json(200, "{\"mismatches\":[]}");
    auto q = req.target.find("tenant=");
    return json(200, deps_.shadow->mismatches_json(q == std::string::npos ? std::string()
                                                                            : req.target.substr(q + 7)));
  }
  if (path == "/v1/slow_reads" && read) {
    if (!deps_.shadow) return json(200, "{\"slow_reads\":[],\"tracked\":0,\"untracked\":0}");
    auto q = req.target.find("tenant=");
    return json(200, deps_.shadow->slow_reads_json(q == std::string::npos ? std::string()
                                                                          : req.target.substr(q + 7)));
  }

  const std::string tenants_prefix = "/v1/tenants/";
  if (path.rfind(tenants_prefix, 0) == 0 && path.size() > tenants_prefix.size()) {
    std::string name = path.substr(tenants_prefix.size());
    if (read) {
      auto t = deps_.directory->current()->find(name);
      if (!t) return error(404, "no tenant named \"" + name + "\"");
      return json(200, deps_.directory->tenants_json(name));
    }
    if (m != "PATCH") return error(405, "use GET or PATCH on " + path);
    AdminResponse denied;
    if (!authorized(req, denied)) return denied;
    return patch_tenant(name, req);
  }
  if (path == "/v1/reload") {
    if (m != "POST") return error(405, "use POST on /v1/reload");
    AdminResponse denied;
    if (!authorized(req, denied)) return denied;
    auto r = deps_.reload("api:" + req.remote);
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    w.Key("reloaded");
    w.Bool(r.status == 200);
    if (r.status != 200) {
      w.Key("error");
      write_string(w, r.error);
    }
    write_strings(w, r.status == 200 ? "notes" : "errors", r.details);
    w.EndObject();
    return json(r.status, text(buf));
  }
  if (path == "/" || path == "/healthz" || path == "/readyz" || path == "/metrics" || path == "/v1/tenants" ||
      path == "/v1/mismatches" || path == "/v1/slow_reads")
    return error(405, "only GET is served on " + path);
  return error(404, "no such endpoint: " + path);
}

// Decoding is the API's part (400 for a body that is not a change); the rules
// (422) and persisting (500) are TenantDirectory::apply's, shared with the guard.
AdminResponse AdminApi::patch_tenant(const std::string& name, const AdminRequest& req) const {
  rapidjson::Document doc;
  doc.Parse(req.body.data(), req.body.size());
  if (doc.HasParseError()) return error(400, "the body is not valid JSON");
  auto decoded = decode_flag_change(doc);
  if (!decoded.error.empty()) return error(400, decoded.error);
  auto r = deps_.directory->apply(name, decoded.change, "api:" + req.remote);
  if (r.status != 200) return error(r.status, r.error, r.status == 422 ? r.details : std::vector<std::string>{});
  // An operator acted on the tenant: a tripped guard lets go.
  if (deps_.shadow) deps_.shadow->operator_changed(name);
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  deps_.directory->write_tenants(w);
  if (!r.details.empty()) write_strings(w, "warnings", r.details);
  w.EndObject();
  return json(200, text(buf));
}

}  // namespace sy::proxy

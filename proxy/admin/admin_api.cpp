#include "proxy/admin/admin_api.h"

#include <openssl/crypto.h>


#include "proxy/fleet/fleet_logic.h"
#include "proxy/fleet/fleet_sync.h"
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
    // The flags store being down does not fail readiness: the sidecar serves
    // with the flags it last applied. It is said here, and in flags_store_up.
    auto notes = deps_.fleet ? deps_.fleet->notes() : std::vector<std::string>{};
    if (reasons.empty() && notes.empty()) return json(200, "{\"ready\":true}");
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    w.Key("ready");
    w.Bool(reasons.empty());
    if (!reasons.empty()) write_strings(w, "reasons", reasons);
    if (!notes.empty()) write_strings(w, "notes", notes);
    w.EndObject();
    return json(reasons.empty() ? 200 : 503, text(buf));
  }
  if (path == "/metrics" && read)
    return {200, "text/plain; version=0.0.4; charset=utf-8", deps_.metrics->render(), {}};
  if (path == "/" && read) return status_page();
  if (path == "/v1/tenants" && read) return json(200, deps_.directory->tenants_json());
  if (path == "/v1/fleet" && read) {
    if (!deps_.fleet) return error(404, "no flags_store configured: this sidecar keeps its flags alone");
    return json(200, deps_.fleet->fleet_json());
  }
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
    const std::string history_suffix = "/history";
    if (name.size() > history_suffix.size() &&
        name.compare(name.size() - history_suffix.size(), history_suffix.size(), history_suffix) == 0) {
      // Served by handle_async, which reads the store.
      if (!read) return error(405, "use GET on " + path);
      return error(404, "no flags_store configured: the history of changes is in the PHASE_CHANGE log lines");
    }
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
      path == "/v1/mismatches" || path == "/v1/slow_reads" || path == "/v1/fleet")
    return error(405, "only GET is served on " + path);
  return error(404, "no such endpoint: " + path);
}

AdminApi::PatchBody AdminApi::decode_patch(const std::string& body) {
  PatchBody out;
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError()) {
    out.status = 400;
    out.decoded.error = "the body is not valid JSON";
    return out;
  }
  // "why" is not a setting: it goes to the flags store's history with the change.
  if (doc.IsObject() && doc.HasMember("why")) {
    if (!doc["why"].IsString()) {
      out.status = 400;
      out.decoded.error = "why must be a string";
      return out;
    }
    out.why.assign(doc["why"].GetString(), doc["why"].GetStringLength());
    doc.RemoveMember("why");
  }
  out.decoded = decode_flag_change(doc);
  if (!out.decoded.error.empty()) out.status = 400;
  return out;
}

AdminResponse AdminApi::patched(const std::string& name, const ChangeResult& r, uint64_t store_version) const {
  // An operator acted on the tenant: a tripped guard lets go.
  if (deps_.shadow) deps_.shadow->operator_changed(name);
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  deps_.directory->write_tenants(w);
  if (deps_.fleet) {
    w.Key("store_version");
    w.Uint64(store_version);
  }
  if (!r.details.empty()) write_strings(w, "warnings", r.details);
  w.EndObject();
  AdminResponse out = json(200, text(buf));
  if (deps_.fleet) out.headers.emplace_back("ETag", "\"" + std::to_string(store_version) + "\"");
  return out;
}

// Decoding is the API's part (400 for a body that is not a change); the rules
// (422) and persisting (500) are TenantDirectory::apply's, shared with the guard.
AdminResponse AdminApi::patch_tenant(const std::string& name, const AdminRequest& req) const {
  auto body = decode_patch(req.body);
  if (body.status != 200) return error(body.status, body.decoded.error);
  auto r = deps_.directory->apply(name, body.decoded.change, "api:" + req.remote);
  if (r.status != 200) return error(r.status, r.error, r.status == 422 ? r.details : std::vector<std::string>{});
  return patched(name, r, 0);
}

boost::asio::awaitable<AdminResponse> AdminApi::handle_async(AdminRequest req) const {
  const std::string tenants_prefix = "/v1/tenants/";
  std::string path = req.target.substr(0, req.target.find('?'));
  if (!deps_.fleet || path.rfind(tenants_prefix, 0) != 0 || path.size() <= tenants_prefix.size())
    co_return handle(req);
  std::string name = path.substr(tenants_prefix.size());
  const std::string history_suffix = "/history";
  if ((req.method == "GET" || req.method == "HEAD") && name.size() > history_suffix.size() &&
      name.compare(name.size() - history_suffix.size(), history_suffix.size(), history_suffix) == 0) {
    name.resize(name.size() - history_suffix.size());
    auto [status, body] = co_await deps_.fleet->history(name);
    if (status == 404) co_return error(404, "no tenant named \"" + name + "\"");
    if (status != 200) co_return error(status, body);
    co_return json(200, body);
  }
  if (req.method != "PATCH" || name.find('/') != std::string::npos) co_return handle(req);
  AdminResponse denied;
  if (!authorized(req, denied)) co_return denied;
  auto body = decode_patch(req.body);
  if (body.status != 200) co_return error(body.status, body.decoded.error);
  std::optional<uint64_t> expected;
  if (!req.if_match.empty()) {
    expected = fleet::parse_if_match(req.if_match);
    if (!expected) co_return error(400, "If-Match must be a flags store version, such as \"3\"");
  }
  auto out = co_await deps_.fleet->write(name, body.decoded.change, "api:" + req.remote, body.why, expected);
  if (out.status == 409) {
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    w.Key("error");
    write_string(w, out.error);
    w.Key("current");
    w.StartObject();
    w.Key("tenant");
    write_string(w, name);
    w.Key("version");
    w.Uint64(out.current ? out.current->version : 0);
    w.Key("overrides");
    rapidjson::Document d;
    std::string overrides = out.current ? out.current->overrides : "{}";
    d.Parse(overrides.data(), overrides.size());
    if (d.HasParseError()) write_string(w, overrides);
    else d.Accept(w);
    w.Key("who");
    write_string(w, out.current ? out.current->who : "");
    w.EndObject();
    w.EndObject();
    AdminResponse conflict = json(409, text(buf));
    conflict.headers.emplace_back("ETag", "\"" + std::to_string(out.current ? out.current->version : 0) + "\"");
    co_return conflict;
  }
  if (out.status != 200) co_return error(out.status, out.error, out.status == 422 ? out.details : std::vector<std::string>{});
  ChangeResult r;
  r.details = out.details;
  co_return patched(name, r, out.version);
}

}  // namespace sy::proxy

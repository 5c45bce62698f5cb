#include "proxy/admin/admin_api.h"

#include <openssl/crypto.h>

#include <cstdio>
#include <map>

#include "proxy/shadow/shadow_service.h"
#include "proxy/telemetry/metrics.h"
#include "proxy/telemetry/stats_sampler.h"

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

std::string html_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
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
      path == "/v1/mismatches")
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

AdminResponse AdminApi::status_page() const {
  auto dir = deps_.directory->current();
  auto rates = deps_.stats ? deps_.stats->statements_per_second() : std::map<std::string, double>{};
  // Rewrite outcomes per tenant, summed over migrations.
  std::map<std::string, std::map<std::string, double>> outcomes;
  for (const auto& s : deps_.metrics->snapshot("rewrites_total")) outcomes[s.label("tenant")][s.label("outcome")] += s.value;
  std::map<std::string, double> compared, mismatched;
  for (const auto& s : deps_.metrics->snapshot("shadow_compared_total")) compared[s.label("tenant")] += s.value;
  for (const auto& s : deps_.metrics->snapshot("shadow_mismatches_total")) mismatched[s.label("tenant")] += s.value;

  std::string h = R"(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">
<title>switchyard</title>
<style>
 body { font: 15px/1.4 system-ui, sans-serif; margin: 2rem; color: #1d2530; background: #f6f7f9; }
 h1 { font-size: 1.4rem; margin: 0 0 .2rem; } .sub { color: #5b6675; margin-bottom: 1.2rem; }
 table { border-collapse: collapse; background: #fff; box-shadow: 0 1px 3px rgba(0,0,0,.12); min-width: 60rem; }
 th, td { padding: .55rem .9rem; text-align: left; border-bottom: 1px solid #e4e7eb; }
 th { background: #27313d; color: #fff; font-weight: 600; }
 .phase { display: inline-block; padding: .1rem .55rem; border-radius: .8rem; font-weight: 600; font-size: .85rem; }
 .off { background: #e4e7eb; } .observe { background: #dbeafe; } .dual_write { background: #fde68a; }
 .read_switch { background: #fdba74; } .cleanup { background: #bbf7d0; }
 .num { font-variant-numeric: tabular-nums; } .muted { color: #8792a2; }
</style></head><body>
<h1>switchyard</h1>
<div class="sub">status-column migration proxy &middot; config )" +
                  html_escape(dir->config->source) + " &middot; flags version " + std::to_string(dir->version) +
                  R"( &middot; refreshes every 5 s</div>
<table id="tenants">
<tr><th>tenant</th><th>phase</th><th>canary</th><th>statements/s</th><th>rewrite outcomes</th><th>shadow mismatch rate</th><th>guard</th><th>migrations</th></tr>
)";
  for (const auto& t : dir->tenants) {
    const auto& c = t->cfg;
    std::string phase = config::to_string(c.phase);
    h += "<tr><td><b>" + html_escape(c.name) + "</b>";
    if (!t->overrides.empty()) h += " <span class=\"muted\">(runtime flags)</span>";
    h += "</td><td><span class=\"phase " + phase + "\">" + phase + "</span></td><td>" +
         html_escape(describe_canary(c.canary)) + "</td>";
    auto rate = rates.find(c.name);
    h += "<td class=\"num\">" + (rate == rates.end() ? std::string("0.0") : fixed(rate->second, 1)) + "</td><td>";
    auto oc = outcomes.find(c.name);
    if (oc == outcomes.end()) {
      h += "<span class=\"muted\">none yet</span>";
    } else {
      bool first = true;
      for (const auto& [outcome, n] : oc->second) {
        h += (first ? "" : ", ") + html_escape(outcome) + " <span class=\"num\">" + fixed(n, 0) + "</span>";
        first = false;
      }
    }
    h += "</td><td class=\"num\">";
    double n = compared[c.name];
    h += n > 0 ? fixed(100.0 * mismatched[c.name] / n, 2) + "% of " + fixed(n, 0) : "<span class=\"muted\">no shadow reads</span>";
    h += "</td><td>";
    auto guard = deps_.shadow ? deps_.shadow->guard_state(c.name) : std::nullopt;
    h += guard ? std::string(shadow::to_string(*guard)) : "<span class=\"muted\">-</span>";
    h += "</td><td>";
    for (size_t i = 0; i < c.migrations.size(); ++i) h += (i ? ", " : "") + html_escape(c.migrations[i]);
    h += "</td></tr>\n";
  }
  if (dir->tenants.empty()) h += "<tr><td colspan=\"8\" class=\"muted\">no tenants configured: pure relay</td></tr>\n";
  h += "</table>\n<p class=\"muted\">JSON: <a href=\"/v1/tenants\">/v1/tenants</a> &middot; <a href=\"/v1/mismatches\">/v1/mismatches</a> &middot; metrics: <a href=\"/metrics\">/metrics</a></p>\n</body></html>\n";
  return {200, "text/html; charset=utf-8", h, {}};
}

}  // namespace sy::proxy

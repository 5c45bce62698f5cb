#include "proxy/flags/flags_json.h"

#include <string_view>

namespace sy::proxy {

namespace {

// Decoders of one value into one Change; each returns an error, or "".
std::string decode_phase(const rapidjson::Value& v, const std::string& key, Change<config::Phase>& out) {
  auto p = v.IsString() ? config::parse_phase(v.GetString()) : std::nullopt;
  if (v.IsNull()) out = from_file;
  else if (p) out = *p;
  else return key + " must be one of " + config::phase_names() + ", or null for the file's value";
  return "";
}

std::string decode_string(const rapidjson::Value& v, const std::string& key, Change<std::string>& out) {
  if (v.IsNull()) out = from_file;
  else if (v.IsString()) out = std::string(v.GetString(), v.GetStringLength());
  else return key + " must be a string, or null for the file's value";
  return "";
}

std::string decode_number(const rapidjson::Value& v, const std::string& key, Change<double>& out) {
  if (v.IsNull()) out = from_file;
  else if (v.IsNumber()) out = v.GetDouble();
  else return key + " must be a number, or null for the file's value";
  return "";
}

std::string decode_canary(const rapidjson::Value& v, CanaryChange& c) {
  if (v.IsNull()) {
    c = {from_file, from_file, from_file, from_file};
    return "";
  }
  if (!v.IsObject()) return "canary must be an object, or null for the file's canary";
  for (const auto& m : v.GetObject()) {
    std::string key = m.name.GetString();
    const auto& cv = m.value;
    std::string e;
    if (key == "phase") {
      auto p = cv.IsString() ? config::parse_phase(cv.GetString()) : std::nullopt;
      if (cv.IsNull()) c.phase = std::optional<config::Phase>();
      else if (p) c.phase = p;
      else e = "canary.phase must be one of " + config::phase_names() + ", or null for none";
    } else if (key == "percent") {
      e = decode_number(cv, "canary.percent", c.percent);
    } else if (key == "read_target") {
      e = decode_string(cv, "canary.read_target", c.read_target);
    } else if (key == "sticky_by") {
      auto s = cv.IsString() ? config::parse_sticky_by(cv.GetString()) : std::nullopt;
      if (cv.IsNull()) c.sticky_by = from_file;
      else if (s) c.sticky_by = *s;
      else e = "canary.sticky_by must be one of " + config::sticky_by_names();
    } else {
      e = "unknown field canary." + key;
    }
    if (!e.empty()) return e;
  }
  return "";
}

std::string decode_shadow(const rapidjson::Value& v, Change<double>& sample_percent) {
  if (!v.IsObject()) return "shadow must be an object";
  for (const auto& m : v.GetObject()) {
    std::string key = m.name.GetString();
    if (key != "sample_percent") return "unknown field shadow." + key + " (only sample_percent changes at run time)";
    if (auto e = decode_number(m.value, "shadow.sample_percent", sample_percent); !e.empty()) return e;
  }
  return "";
}

}  // namespace

DecodedChange decode_flag_change(const rapidjson::Value& body) {
  DecodedChange d;
  if (!body.IsObject()) return {{}, "the body must be a JSON object"};
  for (const auto& m : body.GetObject()) {
    std::string key = m.name.GetString();
    if (key == "phase") d.error = decode_phase(m.value, key, d.change.phase);
    else if (key == "canary") d.error = decode_canary(m.value, d.change.canary);
    else if (key == "read_target") d.error = decode_string(m.value, key, d.change.read_target);
    else if (key == "shadow") d.error = decode_shadow(m.value, d.change.shadow_sample_percent);
    else d.error = "unknown field " + key + " (phase, canary, read_target, shadow)";
    if (!d.error.empty()) return d;
  }
  return d;
}

void write_string(JsonWriter& w, std::string_view s) { w.String(s.data(), rapidjson::SizeType(s.size())); }

void write_canary(JsonWriter& w, const config::Canary& c) {
  w.StartObject();
  w.Key("phase");
  if (c.phase) w.String(config::to_string(*c.phase));
  else w.Null();
  w.Key("read_target");
  write_string(w, c.read_target);
  w.Key("percent");
  w.Double(c.percent);
  w.Key("sticky_by");
  w.String(config::to_string(c.sticky_by));
  w.EndObject();
}

void write_overrides(JsonWriter& w, const TenantOverrides& o) {
  w.StartObject();
  if (o.phase) {
    w.Key("phase");
    w.String(config::to_string(*o.phase));
  }
  if (o.canary) {
    w.Key("canary");
    write_canary(w, *o.canary);
  }
  if (o.read_target) {
    w.Key("read_target");
    write_string(w, *o.read_target);
  }
  if (o.shadow_sample_percent) {
    w.Key("shadow");
    w.StartObject();
    w.Key("sample_percent");
    w.Double(*o.shadow_sample_percent);
    w.EndObject();
  }
  w.EndObject();
}

}  // namespace sy::proxy

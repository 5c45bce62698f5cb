// What a PostgreSQL session hands to its worker's shadow runner: sampled
// autocommit reads that the read switch touches, with their parameters
// exactly as bound (text as text, binary as binary with the Parse's types).
// The client's own messages go out unchanged whatever happens here.
#include "protocol/common/bytes.h"
#include "protocol/pg/extended.h"
#include "protocol/pg/messages.h"
#include "proxy/flags/tenant_directory.h"
#include "proxy/server/listener_runtime.h"
#include "proxy/session/pg/pg_session.h"
#include "proxy/shadow/shadow_runner.h"
#include "rewrite/tenant_rewriter.h"

namespace sy::proxy {

void PgSession::capture_read(std::string_view message, std::string_view sql, config::Phase phase,
                             const std::shared_ptr<const rewrite::Decision>& decision) {
  const bool extended = message[0] == pg::kParse;
  const auto& cfg = tenant_->cfg;
  const bool shadowed = ShadowRunner::shadows(cfg, deps_.listener->cfg, phase);
  // The common case, a tenant without shadows: nothing is decoded or kept.
  if (!shadowed && shadow_statements_.empty()) return;
  std::optional<pg::ParseMessage> parse;
  if (extended) {
    parse = pg::decode_parse(message);
    if (!parse) return;
  }
  auto forget = [&] {
    if (parse) shadow_statements_.erase(std::string(parse->statement));
  };
  if (!shadowed) return forget();
  // In dual_write the client is served the original; the shadow also needs
  // the switched form, which the read-switch decision holds (this worker's
  // cache: a lookup once the text was seen).
  auto switched = phase == config::Phase::DualWrite
                      ? tenant_->rewriter->decide(*deps_.decisions, sql, config::Phase::ReadSwitch, extended)
                      : decision;
  if (!switched || !switched->read_shape || switched->action != rewrite::Decision::Action::Rewrite) return forget();
  if (!extended) {
    if (server().in_transaction || !deps_.shadow->sample(cfg, switched->fingerprint)) return;
    return submit_shadow(sql, std::move(switched), phase, {});
  }
  std::string name(parse->statement);
  if (shadow_statements_.size() >= kMaxShadowStatements && !shadow_statements_.count(name)) return;
  shadow_statements_[name] = ShadowStatement{std::string(sql), std::move(switched), parse->param_types, phase};
}

void PgSession::capture_bind(std::string_view message) {
  auto bind = pg::decode_bind(message);
  if (!bind) return;
  auto it = shadow_statements_.find(std::string(bind->statement));
  if (it == shadow_statements_.end()) return;
  tenant_phase();  // picks up flag changes (a sample_percent PATCH) between Parses
  if (!tenant_ || server().in_transaction) return;
  const auto& st = it->second;
  const auto& cfg = tenant_->cfg;
  if (!ShadowRunner::shadows(cfg, deps_.listener->cfg, st.phase)) return;
  if (!deps_.shadow->sample(cfg, st.switched->fingerprint)) return;
  PgParams params;
  params.values.reserve(bind->values.size());
  for (size_t i = 0; i < bind->values.size(); ++i) {
    const auto& v = bind->values[i];
    params.values.push_back(v ? std::optional<std::string>(std::string(*v)) : std::nullopt);
    params.formats.push_back(bind->formats[i]);
    params.types.push_back(i < st.types.size() ? st.types[i] : 0);
  }
  submit_shadow(st.original, st.switched, st.phase, std::move(params));
}

void PgSession::capture_large_bind(std::string_view first_piece) {
  // Portal and statement names lead the body; a piece that cuts them is let go.
  if (first_piece.size() < 5) return;
  proto::ByteReader r(first_piece.substr(5));
  auto portal = r.cstr();
  auto statement = portal ? r.cstr() : std::nullopt;
  if (!statement) return;
  auto it = shadow_statements_.find(std::string(*statement));
  if (it == shadow_statements_.end() || !tenant_ || server().in_transaction) return;
  const auto& cfg = tenant_->cfg;
  if (ShadowRunner::shadows(cfg, deps_.listener->cfg, it->second.phase) &&
      deps_.shadow->sample(cfg, it->second.switched->fingerprint))
    deps_.shadow->drop(cfg.name, DropReason::TooLarge);
}

void PgSession::submit_shadow(std::string_view original, std::shared_ptr<const rewrite::Decision> switched,
                              config::Phase phase, PgParams params) {
  ShadowRequest r;
  r.tenant = tenant_;
  r.listener = deps_.listener;
  r.database = database_;
  r.phase = phase;
  r.original = std::string(original);
  r.switched = std::move(switched);
  r.params = std::move(params);
  deps_.shadow->submit(std::move(r));
}

}  // namespace sy::proxy

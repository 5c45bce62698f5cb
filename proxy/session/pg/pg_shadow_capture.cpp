// What a PostgreSQL session hands to its worker's shadow runner: sampled
// autocommit reads that the read switch touches, with their parameters
// exactly as bound (text as text, binary as binary with the Parse's types),
// and, for a shadow on another target, the client's own answer as it streamed
// by, so the primary is not asked the same question twice.
// The client's own messages and the server's replies go out unchanged
// whatever happens here.
#include "protocol/common/bytes.h"
#include "protocol/pg/extended.h"
#include "protocol/pg/messages.h"
#include "protocol/pg/result_rows.h"
#include "proxy/flags/tenant_directory.h"
#include "proxy/server/listener_runtime.h"
#include "proxy/session/pg/kept_answer.h"
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
    return submit_shadow(sql, std::move(switched), phase, {}, AnswerSource{});
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
  submit_shadow(st.original, st.switched, st.phase, std::move(params),
                AnswerSource{.query = false, .portal = std::string(bind->portal), .text_results = bind->text_results});
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
                              config::Phase phase, PgParams params, AnswerSource source) {
  ShadowRequest r;
  r.tenant = tenant_;
  r.listener = deps_.listener;
  r.database = database_;
  r.phase = phase;
  r.original = std::string(original);
  r.switched = std::move(switched);
  r.params = std::move(params);
  const auto& requests = server().requests;
  if (!kept_answer_ && source.text_results && requests && !requests->lost() &&
      ShadowRunner::compares_across(tenant_->cfg, deps_.listener->cfg))
    return keep_answer(std::move(r), std::move(source));
  deps_.shadow->submit(std::move(r));
}

// Keeping costs the relay only while it lasts: DataRows and CommandComplete
// are handed over whole (up to kMaxKeptAnswer) instead of streamed, and go
// out unchanged.
void PgSession::keep_answer(ShadowRequest request, AnswerSource source) {
  kept_answer_ = std::make_unique<KeptAnswer>();
  kept_answer_->request = std::move(request);
  kept_answer_->answered = source.query ? last_request_ : 0;  // a Query is the request just sent
  kept_answer_->source = std::move(source);
  server().scan.inspect_if_small(pg::kDataRow, kMaxKeptAnswer);
  server().scan.inspect_if_small(pg::kCommandComplete, kMaxKeptAnswer);
}

void PgSession::answer_request_sent(const pg::Request& request, std::span<const pg::Request> finished) {
  auto& k = *kept_answer_;
  if (!k.answered) {
    // After the Bind: its portal's Execute is the answer. Anything that ends
    // the portal or the pipeline first (a Sync, a Query, another Bind of the
    // portal, its Close) leaves nothing to keep: the shadow reads the primary.
    if (request.kind == pg::RequestKind::Execute && request.portal == k.source.portal) {
      k.answered = request.id;
    } else if (request.kind == pg::RequestKind::Sync || request.kind == pg::RequestKind::Query ||
               ((request.kind == pg::RequestKind::Bind || request.kind == pg::RequestKind::ClosePortal) &&
                request.portal == k.source.portal)) {
      return end_keeping(KeepEnd::ReadAgain);
    }
  }
  for (const auto& f : finished)  // the server will discard it unanswered
    if (f.id == k.answered) return end_keeping(KeepEnd::Dropped);
}

void PgSession::answer_reply(const pg::Reply& reply, std::string_view message, bool whole) {
  auto& k = *kept_answer_;
  if (reply.role == pg::ReplyRole::Lost) return end_keeping(KeepEnd::ReadAgain);
  if (!k.answered) return;
  if (reply.role == pg::ReplyRole::Answer && reply.request->id == k.answered) {
    switch (message[0]) {
      case pg::kDataRow: {
        auto row = whole ? pg::decode_data_row(message) : std::nullopt;
        k.bytes += message.size();
        if (!row || k.bytes > kMaxKeptAnswer) return end_keeping(KeepEnd::ReadAgain);  // too large to keep: read it again
        k.answer.rows.push_back(std::move(*row));
        break;
      }
      case pg::kCommandComplete:
        if (auto tag = whole ? pg::command_tag(message) : std::nullopt) k.answer.command_tag = *tag;
        break;
      case 's':  // PortalSuspended: the client fetches in pieces (a row limit); only part is here
        return end_keeping(KeepEnd::ReadAgain);
      default:
        break;
    }
  }
  for (const auto& f : reply.finished)
    if (f.id == k.answered) return end_keeping(f.outcome == pg::Outcome::Completed ? KeepEnd::Kept : KeepEnd::Dropped);
}

void PgSession::end_keeping(KeepEnd how) {
  auto k = std::move(kept_answer_);
  auto& scan = server().scan;
  scan.stop_inspecting(pg::kDataRow);
  scan.stop_inspecting(pg::kCommandComplete);
  if (how == KeepEnd::Dropped) {
    // The client's read itself failed or was never run: nothing to compare.
    deps_.shadow->drop(k->request.tenant->cfg.name, DropReason::Error);
    return;
  }
  if (how == KeepEnd::Kept) k->request.client_answer = std::move(k->answer);
  deps_.shadow->submit(std::move(k->request));
}

}  // namespace sy::proxy

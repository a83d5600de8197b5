#include "bot/service/outbox_sender.h"

#include <spdlog/spdlog.h>

#include <exception>

#include "bot/service/outbound.h"

namespace deskbot::service {

using util::Status;

OutboxSender::OutboxSender(Store& store, ConnectorSet connectors, OutboxOptions options,
                           Metrics* metrics)
    : store_(store), connectors_(std::move(connectors)), options_(options), metrics_(metrics) {
  for (const auto& [name, c] : connectors_) names_.push_back(name);
  if (options_.batch < 1) options_.batch = 1;
  if (options_.max_attempts < 1) options_.max_attempts = 1;
}

OutboxSender::~OutboxSender() { Stop(); }

void OutboxSender::Start() { thread_.Start("outbox-sender", [this] { Run(); }); }

void OutboxSender::Stop() { thread_.Stop(); }

void OutboxSender::Wake() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

void OutboxSender::Run() {
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (thread_.stopping()) return;
      woken_ = false;
    }
    auto handled = RunOnce();
    if (!handled.ok()) spdlog::warn("outbox: {}", handled.status().ToString());
    if (handled.ok() && *handled > 0) continue;  // more may be due

    // Sleep until the next row is due, a wake-up, or the poll interval.
    auto wait = options_.poll;
    if (recovered_) {
      auto due = store_.NextOutboxDue(names_);
      if (due.ok() && due->has_value()) {
        auto until = std::chrono::milliseconds(**due - NowMs());
        if (until < wait) wait = std::max(until, std::chrono::milliseconds(1));
      }
    }
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, wait, [this] { return thread_.stopping() || woken_; });
  }
}

Status OutboxSender::Recover() {
  auto rows = store_.ListSendingOutbox(names_);
  if (!rows.ok()) return rows.status();
  bool all = true;
  for (const OutboxRow& row : *rows) {
    auto conn = connectors_.find(row.connector);
    util::Result<DeliveryCheck> check = Status::Internal("no check");
    try {
      check = conn->second->WasDelivered(row);
    } catch (const std::exception& e) {
      check = Status::Internal(std::string("WasDelivered threw: ") + e.what());
    }
    Status st;
    if (!check.ok()) {
      // Cannot tell now: leave it "sending" and ask again on the next pass.
      spdlog::warn("outbox row {}: left sending by an earlier process; cannot tell if it was "
                   "delivered yet: {}", row.id, check.status().ToString());
      all = false;
      continue;
    }
    if (check->delivered) {
      spdlog::info("outbox row {}: was delivered before a restart; marking it sent", row.id);
      st = store_.MarkOutboxSent(row.id, check->ref);
    } else {
      spdlog::info("outbox row {}: interrupted by a restart and not delivered; sending again", row.id);
      st = store_.RetryOutbox(row.id, "interrupted: the process stopped while sending", 0);
    }
    if (!st.ok()) return st;
  }
  recovered_ = all;
  return Status::OK();
}

util::Result<int> OutboxSender::RunOnce() {
  if (!recovered_) DESK_RETURN_IF_ERROR(Recover().WithContext("recover sending rows"));
  auto rows = store_.ClaimOutbox(names_, options_.batch, NowMs());
  if (!rows.ok()) return rows.status();
  int handled = 0;
  for (std::size_t i = 0; i < rows->size(); ++i) {
    bool stop;
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop = thread_.stopping();
    }
    if (stop) {
      // Claimed but not attempted: back to pending as if never claimed.
      for (std::size_t j = i; j < rows->size(); ++j) {
        Status st = store_.ReleaseOutbox((*rows)[j].id);
        if (!st.ok()) spdlog::warn("outbox: {}", st.ToString());
      }
      break;
    }
    Send((*rows)[i]);
    ++handled;
  }
  return handled;
}

void OutboxSender::Retry(const OutboxRow& row, const Status& error) {
  const std::string kind = OutboxKindName(row.kind);
  Status st;
  if (IsRetryable(error) && row.attempts < options_.max_attempts) {
    auto delay = Backoff(row.attempts, options_.backoff_base, options_.backoff_max);
    spdlog::warn("outbox row {} ({} via {}): attempt {} failed, retrying in {} ms: {}", row.id, kind,
                 row.connector, row.attempts, delay.count(), error.ToString());
    st = store_.RetryOutbox(row.id, error.ToString(), NowMs() + delay.count());
    if (metrics_ != nullptr) metrics_->CountSend(row.connector, kind, "retry");
  } else {
    spdlog::error("outbox row {} ({} via {}): failed after {} attempt(s): {}", row.id, kind,
                  row.connector, row.attempts, error.ToString());
    st = store_.FailOutbox(row.id, error.ToString());
    if (metrics_ != nullptr) metrics_->CountSend(row.connector, kind, "failed");
  }
  if (!st.ok()) spdlog::error("outbox row {}: could not record the failure: {}", row.id, st.ToString());
}

void OutboxSender::Send(const OutboxRow& row) {
  auto conn = connectors_.find(row.connector);
  ChatConnector& connector = *conn->second;
  const std::string kind = OutboxKindName(row.kind);

  if (row.attempts > 1) {
    // An earlier attempt may have reached the chat (a timeout after the
    // vendor accepted it): ask before sending again.
    util::Result<DeliveryCheck> check = Status::Internal("no check");
    try {
      check = connector.WasDelivered(row);
    } catch (const std::exception& e) {
      check = Status::Unavailable(std::string("WasDelivered threw: ") + e.what());
    }
    if (!check.ok()) {
      Status err = check.status();
      return Retry(row, IsRetryable(err) ? err : Status::Unavailable(err.message()));
    }
    if (check->delivered) {
      Status st = store_.MarkOutboxSent(row.id, check->ref);
      if (!st.ok()) spdlog::error("outbox row {}: {}", row.id, st.ToString());
      if (metrics_ != nullptr) metrics_->CountSend(row.connector, kind, "sent");
      return;
    }
  }

  std::int64_t received_ms = 0;
  util::Result<std::string> ref = Status::Internal("not sent");
  try {
    if (row.kind == OutboxKind::kSuggestion) {
      auto post = DecodeSuggestionPost(row.payload, &received_ms);
      ref = post.ok() ? connector.PostSuggestion({row.id, row.idempotency_key, row.attempts}, *post)
                      : util::Result<std::string>(post.status());
    } else {
      ref = Deliver(connector, row);
    }
  } catch (const std::exception& e) {
    ref = Status::Internal(std::string("connector threw: ") + e.what());
  }
  if (!ref.ok()) return Retry(row, ref.status());

  Status st = store_.MarkOutboxSent(row.id, *ref);
  if (!st.ok()) {
    // Delivered but not recorded: the row stays "sending" and the next start
    // asks WasDelivered before sending it again.
    spdlog::error("outbox row {}: sent, but could not record it: {}", row.id, st.ToString());
    return;
  }
  if (metrics_ != nullptr) {
    metrics_->CountSend(row.connector, kind, "sent");
    if (row.kind == OutboxKind::kSuggestion && received_ms > 0)
      metrics_->suggestion_latency.Observe(std::chrono::milliseconds(NowMs() - received_ms));
  }
  spdlog::debug("outbox row {} ({} via {}) sent", row.id, kind, row.connector);
}

util::Result<std::string> OutboxSender::Deliver(ChatConnector& connector, const OutboxRow& row) {
  const OutboundContext ctx{row.id, row.idempotency_key, row.attempts};
  if (row.kind == OutboxKind::kSuggestionUpdate) {
    auto update = DecodeSuggestionUpdate(row.payload);
    if (!update.ok()) return update.status();
    if (row.depends_on_ref.empty())
      return Status::NotFound("the suggestion was never posted to agents, so there is nothing to update");
    update->message_ref = row.depends_on_ref;
    DESK_RETURN_IF_ERROR(connector.UpdateSuggestion(ctx, *update));
    return row.depends_on_ref;
  }
  auto post = DecodeChatPost(row.payload);
  if (!post.ok()) return post.status();
  switch (row.kind) {
    case OutboxKind::kAnswer: return connector.PostAnswer(ctx, *post);
    case OutboxKind::kNotice: return connector.PostNotice(ctx, *post);
    case OutboxKind::kRefusal: return connector.PostRefusal(ctx, *post);
    default: return Status::Internal("outbox: unexpected kind");
  }
}

}  // namespace deskbot::service

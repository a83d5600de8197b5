// Test doubles for the chat service: a chat connector that records what it
// is asked to send (and can fail on demand), and a keyword answer model.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bot/core/chat.h"
#include "bot/core/interfaces.h"

namespace deskbot::testing {

// What the fake chat "received": one entry per successful outbound call.
struct Sent {
  std::string kind;        // "suggestion", "update", "answer", "notice", "refusal"
  std::int64_t outbox_id = 0;
  std::string text;
  ChatTarget target;
  std::int64_t suggestion_id = 0;
  std::string state;       // update: the decided state
  std::string message_ref; // update: which message
  double confidence = 0;
  std::vector<SourceRef> sources;
};

// The chat's side of the world, shared by connector instances so that a
// "restarted" connector can look up what an earlier one delivered.
struct FakeChat {
  std::mutex mu;
  std::vector<Sent> sent;
  std::set<std::int64_t> delivered_outbox_ids;
  std::map<std::string, int> fail_next;  // kind -> failures to return before succeeding
  util::Status::Code fail_code = util::Status::Code::kUnavailable;
  // Deliver but report a failure (a timeout after the chat accepted it).
  std::map<std::string, int> lose_ack_next;

  std::vector<Sent> Of(const std::string& kind) {
    std::lock_guard<std::mutex> lock(mu);
    std::vector<Sent> out;
    for (const auto& s : sent)
      if (s.kind == kind) out.push_back(s);
    return out;
  }
  std::size_t Count() {
    std::lock_guard<std::mutex> lock(mu);
    return sent.size();
  }
};

// Inbound payloads (JSON written by the tests):
//   {"type":"question","conversation":"C1","message_id":"1.0","user":"U9","text":"..."}
//   {"type":"verdict","suggestion":1,"action":"approve","agent":"U1","text":"","reason":""}
//   {"type":"command","name":"help","user":"U9"}
//   anything else with "type": ignored; not JSON: a decode error.
class FakeConnector final : public ChatConnector {
 public:
  FakeConnector(std::shared_ptr<FakeChat> chat, bool can_check_delivery = true,
                std::string name = "fake")
      : chat_(std::move(chat)), can_check_(can_check_delivery), name_(std::move(name)) {}

  const std::string& name() const override { return name_; }

  util::Result<Inbound> Decode(const InboxEvent& event) const override {
    auto j = nlohmann::json::parse(event.payload, nullptr, false);
    if (!j.is_object()) return util::Status::InvalidArgument("fake: payload is not JSON");
    Inbound in;
    std::string type = j.value("type", "");
    if (type == "question") {
      in.kind = Inbound::Kind::kQuestion;
      in.question.conversation = j.value("conversation", "C1");
      in.question.message_id = j.value("message_id", "");
      in.question.thread = in.question.message_id;
      in.question.asker = j.value("user", "U9");
      in.question.text = j.value("text", "");
    } else if (type == "verdict") {
      in.kind = Inbound::Kind::kVerdict;
      in.verdict.suggestion_id = j.value("suggestion", std::int64_t{0});
      in.verdict.action = *ParseVerdictAction(j.value("action", "approve"));
      in.verdict.agent = j.value("agent", "");
      in.verdict.edited_text = j.value("text", "");
      in.verdict.reason = j.value("reason", "");
      in.verdict.reply_to = {"AGENTS", "", in.verdict.agent, ""};
    } else if (type == "command") {
      in.kind = Inbound::Kind::kCommand;
      in.command.name = j.value("name", "help");
      in.command.user = j.value("user", "U9");
      in.command.reply_to = {"C1", "", in.command.user, ""};
    } else {
      in.note = "not for deskbot";
    }
    return in;
  }

  util::Result<std::string> PostSuggestion(const OutboundContext& ctx,
                                           const SuggestionPost& post) override {
    Sent s = Make("suggestion", ctx.outbox_id, post.text, {}, post.suggestion_id);
    s.confidence = post.confidence;
    s.sources = post.sources;
    return Record(s);
  }
  util::Status UpdateSuggestion(const OutboundContext& ctx, const SuggestionUpdate& u) override {
    Sent s = Make("update", ctx.outbox_id, u.final_text, {}, u.suggestion.suggestion_id);
    s.state = SuggestionStateName(u.state);
    s.message_ref = u.message_ref;
    auto r = Record(s);
    return r.ok() ? util::Status::OK() : r.status();
  }
  util::Result<std::string> PostAnswer(const OutboundContext& ctx, const ChatPost& p) override {
    return Record(Make("answer", ctx.outbox_id, p.text, p.target, p.suggestion_id));
  }
  util::Result<std::string> PostNotice(const OutboundContext& ctx, const ChatPost& p) override {
    return Record(Make("notice", ctx.outbox_id, p.text, p.target, p.suggestion_id));
  }
  util::Result<std::string> PostRefusal(const OutboundContext& ctx, const ChatPost& p) override {
    return Record(Make("refusal", ctx.outbox_id, p.text, p.target, p.suggestion_id));
  }

  util::Result<DeliveryCheck> WasDelivered(const OutboxRow& row) override {
    if (!can_check_) return DeliveryCheck{};
    std::lock_guard<std::mutex> lock(chat_->mu);
    ++checks;
    if (chat_->delivered_outbox_ids.count(row.id))
      return DeliveryCheck{true, "m" + std::to_string(row.id)};
    return DeliveryCheck{};
  }

  std::atomic<int> checks{0};

 private:
  static Sent Make(const char* kind, std::int64_t outbox_id, const std::string& text,
                   const ChatTarget& target, std::int64_t suggestion_id) {
    Sent s;
    s.kind = kind;
    s.outbox_id = outbox_id;
    s.text = text;
    s.target = target;
    s.suggestion_id = suggestion_id;
    return s;
  }

  util::Result<std::string> Record(const Sent& s) {
    std::lock_guard<std::mutex> lock(chat_->mu);
    auto& fails = chat_->fail_next[s.kind];
    if (fails > 0) {
      --fails;
      return util::Status(chat_->fail_code == util::Status::Code::kUnavailable
                              ? util::Status::Unavailable("fake: HTTP 503")
                              : util::Status::InvalidArgument("fake: channel_not_found"));
    }
    chat_->sent.push_back(s);
    chat_->delivered_outbox_ids.insert(s.outbox_id);
    auto& lose = chat_->lose_ack_next[s.kind];
    if (lose > 0) {
      --lose;
      return util::Status::Unavailable("fake: timeout after the chat accepted it");
    }
    return "m" + std::to_string(s.outbox_id);
  }

  std::shared_ptr<FakeChat> chat_;
  bool can_check_;
  std::string name_;
};

// Answers questions containing a known keyword; abstains otherwise.
class KeywordModel final : public AnswerModel {
 public:
  explicit KeywordModel(std::map<std::string, std::string> answers, std::string version = "v1")
      : answers_(std::move(answers)), version_(std::move(version)) {}

  util::Result<Suggestion> Suggest(const std::string& question) const override {
    std::string lower = question;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    for (const auto& [keyword, answer] : answers_) {
      if (lower.find(keyword) != std::string::npos) {
        Suggestion s;
        s.text = answer;
        s.confidence = 0.92;
        s.abstained = false;
        s.sources.push_back({"rt", "T-" + keyword, "How do I " + keyword + "?", 0.8});
        s.model_version = version_;
        return s;
      }
    }
    Suggestion s;
    s.confidence = 0.1;
    s.abstained = true;
    s.model_version = version_;
    return s;
  }

 private:
  std::map<std::string, std::string> answers_;
  std::string version_;
};

// A model that waits for Release() before answering (to catch a worker mid-event).
class BlockingModel final : public AnswerModel {
 public:
  util::Result<Suggestion> Suggest(const std::string& question) const override {
    std::unique_lock<std::mutex> lock(mu_);
    ++entered_;
    cv_.notify_all();
    cv_.wait(lock, [this] { return released_; });
    Suggestion s;
    s.text = "answer to " + question;
    s.confidence = 0.9;
    s.abstained = false;
    return s;
  }
  void WaitEntered(int n) const {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return entered_ >= n; });
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    released_ = true;
    cv_.notify_all();
  }

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  mutable int entered_ = 0;
  bool released_ = false;
};

}  // namespace deskbot::testing

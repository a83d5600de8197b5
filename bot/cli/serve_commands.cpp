// deskbot serve: the long-running service -- the web chat, the approval loop,
// health and metrics, scheduled harvests. Wiring only; the parts live in
// bot/service and bot/chat.
#include <CLI/CLI.hpp>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include "bot/chat/slack.h"
#include "bot/chat/teams.h"
#include "bot/chat/webchat.h"
#include "bot/cli/context.h"
#include "bot/dataset/pipeline.h"
#include "bot/dataset/redact.h"
#include "bot/llm/poller.h"
#include "bot/llm/serving.h"
#include "bot/model/local_model.h"
#include "bot/model/registry.h"
#include "bot/service/logging.h"
#include "bot/service/service.h"
#include "bot/sources/factory.h"
#include "bot/sources/harvest.h"

namespace deskbot::cli {
namespace {

struct Listen {
  std::string host;
  std::uint16_t port = 0;
};

// "host:port", "[v6]:port" or ":port".
Listen ParseListen(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) throw CliError("server.listen: expected host:port, got '" + text + "'");
  Listen l;
  l.host = text.substr(0, colon);
  if (l.host.size() >= 2 && l.host.front() == '[' && l.host.back() == ']')
    l.host = l.host.substr(1, l.host.size() - 2);
  if (l.host.empty()) l.host = "0.0.0.0";
  const std::string port = text.substr(colon + 1);
  try {
    std::size_t used = 0;
    const int p = std::stoi(port, &used);
    if (used != port.size() || p < 0 || p > 65535) throw std::out_of_range("port");
    l.port = static_cast<std::uint16_t>(p);
  } catch (const std::exception&) {
    throw CliError("server.listen: bad port '" + port + "' in '" + text + "'");
  }
  return l;
}

std::chrono::milliseconds Minutes(std::int64_t m) { return std::chrono::minutes(m > 0 ? m : 0); }

// The model that answers: an LLM when one is configured or promoted (with
// the local model as its fallback), else the promoted local version -- or,
// when its files are missing or corrupt, the newest older version that loads
// (the problem is logged). Nothing promoted: no model; questions go to agents.
util::Result<service::ModelSlot::Loaded> LoadAnsweringModel(Store& store, const Config& config,
                                                            std::shared_ptr<llm::LlmCounters> counters) {
  auto llm_serving = llm::LoadLlmServing(store, config, counters);
  if (!llm_serving.ok()) {
    spdlog::error("LLM backend not used: {}", llm_serving.status().ToString());
  } else {
    if (!llm_serving->warning.empty()) spdlog::warn("{}", llm_serving->warning);
    if (llm_serving->model) return service::ModelSlot::Loaded{llm_serving->model, llm_serving->version};
  }
  auto serving = model::LoadServing(store, config);
  if (!serving.ok()) {
    if (serving.status().code() == util::Status::Code::kNotFound) return service::ModelSlot::Loaded{};
    return serving.status();
  }
  for (const std::string& w : serving->warnings) spdlog::warn("model: {}", w);
  const std::string version = std::to_string(serving->version.id);
  if (serving->model->version().empty()) serving->model->set_version(version);
  return service::ModelSlot::Loaded{std::shared_ptr<const AnswerModel>(std::move(serving->model)), version};
}

// Retraining from agents' feedback: rebuild the dataset (approved and edited
// pairs are kept), train, evaluate and gate -- the same steps as
// `deskbot dataset build && deskbot train`.
class StoreRetrainer final : public service::Retrainer {
 public:
  StoreRetrainer(Store& store, const Config& config) : store_(store), config_(config) {}
  util::Result<service::RetrainOutcome> Retrain(const service::RetrainRequest& request) override {
    spdlog::info("retrain: {}", request.reason);
    auto options = dataset::DatasetOptions::FromConfig(config_);
    if (!options.ok()) return options.status();
    auto built = dataset::BuildDataset(store_, *options);
    if (!built.ok()) return built.status().WithContext("retrain: dataset build");
    auto trained = model::TrainVersion(store_, config_);
    if (!trained.ok()) return trained.status().WithContext("retrain: train");
    return service::RetrainOutcome{trained->promoted, std::to_string(trained->version.id), trained->note};
  }

 private:
  Store& store_;
  const Config& config_;
};

// Chat pairs are stored redacted, like harvested ones.
std::string RedactChatText(const std::string& text) {
  dataset::RedactionScope scope;
  return scope.Redact(text, nullptr);
}

// Every configured source, one after the other (the scheduler never overlaps jobs).
util::Status HarvestAll(const Config& config, Store& store) {
  util::Status first_error;
  for (const std::string& name : config.SourceNames()) {
    auto source = MakeSource(config, name);
    util::Status st = source.ok() ? util::Status::OK() : source.status();
    if (st.ok()) {
      auto report = Harvest(**source, store);
      if (report.ok())
        spdlog::info("harvest {}: {} tickets stored ({} new), {} rejected", name,
                     report->tickets(), report->tickets_new, report->rejects.size());
      else
        st = report.status();
    }
    if (!st.ok()) {
      spdlog::error("harvest {}: {}", name, st.ToString());
      if (first_error.ok()) first_error = st;
    }
  }
  return first_error;
}

void RunServe(CliContext& ctx) {
  const Config& config = ctx.config();
  Check(service::ConfigureLogging(
      {config.GetString("log.level", "info"), config.GetString("log.format", "text")}));
  Store& store = ctx.store();

  service::ServiceOptions options;
  const Listen listen = ParseListen(config.GetString("server.listen", "127.0.0.1:8080"));
  options.host = listen.host;
  options.port = listen.port;
  options.http_threads = static_cast<int>(config.GetInt("server.threads", 1));
  options.max_body_bytes = static_cast<std::size_t>(config.GetInt("server.max_body_bytes", 1 << 20));
  options.workers.threads = static_cast<int>(config.GetInt("service.workers", 2));
  options.workflow.max_attempts = static_cast<int>(config.GetInt("service.max_attempts", 5));
  options.outbox.max_attempts = static_cast<int>(config.GetInt("outbox.max_attempts", 8));
  options.outbox.backoff_base = std::chrono::milliseconds(config.GetInt("outbox.backoff_ms", 1000));
  options.harvest_interval = Minutes(config.GetInt("harvest.interval_minutes", 0));
  const std::int64_t retention_hours = config.GetInt("inbox.retention_hours", 72);
  if (retention_hours < 0)
    throw CliError("inbox.retention_hours must be 0 (keep every event) or more, not " +
                   std::to_string(retention_hours));
  options.inbox_retention = std::chrono::hours(retention_hours);
  const std::int64_t outbox_retention_hours = config.GetInt("outbox.retention_hours", 72);
  if (outbox_retention_hours < 0)
    throw CliError("outbox.retention_hours must be 0 (keep every sent message) or more, not " +
                   std::to_string(outbox_retention_hours));
  options.outbox_retention = std::chrono::hours(outbox_retention_hours);
  options.retrain.every_pairs = config.GetInt("retrain.every_pairs", 0);
  options.retrain.interval = Minutes(config.GetInt("retrain.interval_minutes", 0));
  options.workflow.notice_text = config.GetString("chat.notice_text", options.workflow.notice_text);
  options.workflow.refusal_text = config.GetString("chat.refusal_text", options.workflow.refusal_text);
  std::vector<std::string> agents = config.GetList("agents.ids");
  // Teams agents are AAD object ids, listed in teams.agents or with the others.
  for (const std::string& id : config.GetList("teams.agents")) agents.push_back("teams:" + id);
  if (agents.empty())
    spdlog::warn("no agents configured (agents.ids / DESKBOT_AGENTS): nobody can approve answers");
  const service::AgentCheck is_agent = service::AgentIds(agents);
  options.workflow.is_agent = is_agent;
  options.workflow.redact = RedactChatText;

  service::ServiceDeps deps;
  deps.store = &store;
  auto llm_counters = std::make_shared<llm::LlmCounters>();
  deps.load_model = [&store, &config, llm_counters] { return LoadAnsweringModel(store, config, llm_counters); };
  deps.extra_metrics = [llm_counters] { return llm_counters->RenderPrometheus(); };
  StoreRetrainer retrainer(store, config);
  deps.retrainer = &retrainer;
  // Fine-tuning jobs started with `deskbot finetune start` are polled here, so
  // a job survives restarts (its id is in the registry).
  if (auto p = llm::MakeFineTunePoller(config); p.ok()) {
    std::shared_ptr<llm::FineTunePoller> poller = std::move(p).value();
    deps.periodic.push_back({"fine-tune poll",
                             std::chrono::seconds(std::max<std::int64_t>(5, config.GetInt("llm.poll_seconds", 60))),
                             llm::ScheduledPoll(std::move(poller), store)});
  }
  if (!config.SourceNames().empty())
    deps.harvest = [&store, &config] { return HarvestAll(config, store); };

  // SIGINT/SIGTERM are taken by sigwait below: block them before any thread
  // starts so every thread inherits the mask and none is interrupted.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  service::Service svc(options, deps);
  std::unique_ptr<chat::WebChat> webchat;
  if (config.GetBool("webchat.enabled", true)) {
    chat::WebChatOptions wopts;
    wopts.is_agent = [is_agent](const std::string& user) { return is_agent(chat::WebChat::kName, user); };
    if (auto token = Check(config.Secret("webchat.agent_token")); token) wopts.agent_token = *token;
    webchat = std::make_unique<chat::WebChat>(store, svc.inbox(), wopts);
    svc.AddConnector(*webchat, webchat->Routes());
  }
  // Slack: on when slack.bot_token and a signing secret or app token are set.
  std::unique_ptr<chat::SlackChat> slack = Check(chat::SlackFromConfig(config, store, svc.inbox(), agents));
  if (slack) {
    svc.AddConnector(*slack, slack->Routes());
    if (slack->socket_mode())
      svc.AddInboundClient("slack socket mode", [&] { return slack->StartSocketMode(); },
                           [&] { slack->StopSocketMode(); });
  }
  // Teams: bot mode when teams.app_id + app_password are set (POST /api/messages),
  // outgoing-webhook mode when teams.webhook_secret is (POST /teams/webhook).
  std::unique_ptr<chat::TeamsChat> teams = Check(chat::TeamsFromConfig(config, store, svc.inbox(), agents));
  if (teams) {
    // Webhook questions are answered in the HTTP response by the current model.
    service::ModelSlot& models = svc.models();
    teams->set_suggester([&models](const std::string& question) -> util::Result<Suggestion> {
      const service::ModelSlot::Loaded loaded = models.Get();
      if (!loaded.model) return Suggestion{};  // no model: abstained
      return loaded.model->Suggest(question);
    });
    if (teams->bot_mode()) {
      if (util::Status keys = teams->FetchSigningKeys(); !keys.ok())
        spdlog::warn("teams: signing keys not fetched yet (the first activity will try again): {}",
                     keys.ToString());
    }
    svc.AddConnector(*teams, teams->Routes());
  }
  // Further chats are added here: svc.AddConnector(adapter, adapter.Routes()).
  Check(svc.Start());

  const std::string shown_host = options.host == "0.0.0.0" ? "127.0.0.1" : options.host;
  std::cout << "deskbot: serving on http://" << shown_host << ":" << svc.port() << "/"
            << (webchat ? " (web chat; agents: /?agent=<agent id>)" : "")
            << "  health: /healthz /readyz  metrics: /metrics" << std::endl;

  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("received {}, stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  svc.Stop();
  // The signals stay blocked: a second SIGTERM (e.g. from a supervisor) must
  // not cut the exit short.
  std::cout << "deskbot: stopped" << std::endl;
}

void Register(CLI::App& app, CliContext& ctx) {
  auto* serve = app.add_subcommand(
      "serve",
      "Run the service: the web chat, the approval loop, health and metrics (stop with SIGTERM)");
  serve->footer(
      "Settings (config file or environment): server.listen / DESKBOT_LISTEN (host:port), "
      "DESKBOT_DATA_DIR, agents.ids / DESKBOT_AGENTS (comma-separated), service.workers, "
      "harvest.interval_minutes, retrain.every_pairs, retrain.interval_minutes, webchat.enabled, "
      "webchat.agent_token (secret), chat.notice_text, chat.refusal_text, log.level, "
      "teams.app_id, teams.app_password (secret), teams.agents_conversation, "
      "teams.webhook_secret (secret) (see README: Microsoft Teams), "
      "log.format (text|json).");
  serve->callback([&ctx] { RunServe(ctx); });
}

}  // namespace

DESKBOT_COMMANDS(80, Register);

}  // namespace deskbot::cli

// deskbot serve: the long-running service -- the web chat, the approval loop,
// health and metrics, scheduled harvests. Wiring only; the parts live in
// bot/service and bot/chat.
#include <CLI/CLI.hpp>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <signal.h>

#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include "bot/chat/slack.h"
#include "bot/chat/webchat.h"
#include "bot/cli/context.h"
#include "bot/model/local_model.h"
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

// The promoted version from the model registry, loaded and checked against
// its recorded checksum. No promoted version: no model (questions go to agents).
util::Result<service::ModelSlot::Loaded> LoadPromotedModel(Store& store, const Config& config) {
  auto versions = store.ListModelVersions();
  if (!versions.ok()) return versions.status();
  const ModelVersion* promoted = nullptr;
  for (const ModelVersion& v : *versions)
    if (v.state == ModelState::kPromoted) promoted = &v;
  if (promoted == nullptr) return service::ModelSlot::Loaded{};
  const std::string what = "model version " + std::to_string(promoted->id);
  if (promoted->backend != "local")
    return util::Status::InvalidArgument(what + ": backend '" + promoted->backend +
                                         "' cannot answer in `deskbot serve` yet");
  std::string dir = promoted->path;
  if (!dir.empty() && std::filesystem::path(dir).is_relative() && !std::filesystem::exists(dir))
    dir = (std::filesystem::path(config.DataDir()) / dir).string();
  auto model = model::LocalModel::Load(dir, promoted->checksum);
  if (!model.ok()) return model.status().WithContext(what);
  if ((*model)->version().empty()) (*model)->set_version(std::to_string(promoted->id));
  const std::string version = (*model)->version();
  return service::ModelSlot::Loaded{std::shared_ptr<const AnswerModel>(std::move(model).value()),
                                    version};
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
  options.http_threads = static_cast<int>(config.GetInt("server.threads", 2));
  options.max_body_bytes = static_cast<std::size_t>(config.GetInt("server.max_body_bytes", 1 << 20));
  options.workers.threads = static_cast<int>(config.GetInt("service.workers", 2));
  options.workflow.max_attempts = static_cast<int>(config.GetInt("service.max_attempts", 5));
  options.outbox.max_attempts = static_cast<int>(config.GetInt("outbox.max_attempts", 8));
  options.outbox.backoff_base = std::chrono::milliseconds(config.GetInt("outbox.backoff_ms", 1000));
  options.harvest_interval = Minutes(config.GetInt("harvest.interval_minutes", 0));
  options.retrain.every_pairs = config.GetInt("retrain.every_pairs", 0);
  options.retrain.interval = Minutes(config.GetInt("retrain.interval_minutes", 0));
  options.workflow.notice_text = config.GetString("chat.notice_text", options.workflow.notice_text);
  options.workflow.refusal_text = config.GetString("chat.refusal_text", options.workflow.refusal_text);
  const std::vector<std::string> agents = config.GetList("agents.ids");
  if (agents.empty())
    spdlog::warn("no agents configured (agents.ids / DESKBOT_AGENTS): nobody can approve answers");
  const service::AgentCheck is_agent = service::AgentIds(agents);
  options.workflow.is_agent = is_agent;
  // TODO(lead): options.workflow.redact = <the dataset redactor> (pairs from chat are stored as asked).

  service::ServiceDeps deps;
  deps.store = &store;
  deps.load_model = [&store, &config] { return LoadPromotedModel(store, config); };
  // TODO(lead): deps.retrainer = <the model helper's train + eval + promotion gate>.
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
  // Further chats (Teams) are added here: svc.AddConnector(adapter, adapter.Routes()).
  Check(svc.Start());

  const std::string shown_host = options.host == "0.0.0.0" ? "127.0.0.1" : options.host;
  std::cout << "deskbot: serving on http://" << shown_host << ":" << svc.port() << "/"
            << (webchat ? " (web chat; agents: /?view=agent)" : "")
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
      "log.format (text|json).");
  serve->callback([&ctx] { RunServe(ctx); });
}

}  // namespace

DESKBOT_COMMANDS(80, Register);

}  // namespace deskbot::cli

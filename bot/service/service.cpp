#include "bot/service/service.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

namespace deskbot::service {

using util::Status;
using http::server::Request;
using http::server::Response;

// Chat routes answer asynchronously: the inbox writer acks a delivery when its
// batch commits, from the writer's thread, so no I/O thread waits on a commit.
void MountAsync(http::server::Router& router, const chat::HttpRoute& route) {
  if (route.prefix) router.AddPrefixAsync(route.method, route.path, route.handler);
  else router.AddAsync(route.method, route.path, route.handler);
}

Service::Service(ServiceOptions options, ServiceDeps deps)
    : options_(std::move(options)),
      deps_(std::move(deps)),
      writer_(*deps_.store, options_.inbox, &metrics_) {}

Service::~Service() { Stop(); }

InboxSink& Service::inbox() { return writer_; }

void Service::AddConnector(ChatConnector& connector, std::vector<chat::HttpRoute> routes) {
  connectors_[connector.name()] = &connector;
  for (auto& r : routes) routes_.push_back(std::move(r));
}

void Service::AddRoute(chat::HttpRoute route) { routes_.push_back(std::move(route)); }

void Service::AddInboundClient(std::string name, std::function<util::Status()> start,
                               std::function<void()> stop) {
  clients_.push_back({std::move(name), std::move(start), std::move(stop), false});
}

Status Service::ReloadModel() {
  if (!deps_.load_model) return Status::OK();
  auto loaded = deps_.load_model();
  if (!loaded.ok()) return loaded.status().WithContext("load model");
  model_loaded_ = loaded->model != nullptr;
  if (model_loaded_) spdlog::info("model: version {} loaded", loaded->version);
  else spdlog::warn("model: none promoted yet; every question goes to agents");
  models_.Set(loaded->model, loaded->version);
  return Status::OK();
}

Status Service::Start() {
  if (started_) return Status::OK();
  Store& store = *deps_.store;
  auto requeued = store.RequeueProcessingInbox();
  if (!requeued.ok()) return requeued.status().WithContext("start");
  if (*requeued > 0)
    spdlog::info("inbox: {} event(s) left unfinished by the last run are queued again", *requeued);
  DESK_RETURN_IF_ERROR(ReloadModel());

  workflow_ = std::make_unique<Workflow>(store, models_, connectors_, options_.workflow, &metrics_);
  sender_ = std::make_unique<OutboxSender>(store, connectors_, options_.outbox, &metrics_);
  workers_ = std::make_unique<InboxWorkers>(store, *workflow_, options_.workers,
                                            [this](const ProcessResult& r) { OnProcessed(r); });
  retrain_ = std::make_unique<RetrainPolicy>(
      store, deps_.retrainer, options_.retrain, [this](const RetrainOutcome&) {
        Status st = ReloadModel();
        if (!st.ok()) spdlog::error("retrain: new model did not load: {}", st.ToString());
      });
  scheduler_ = std::make_unique<Scheduler>();
  if (deps_.harvest && options_.harvest_interval.count() > 0) {
    scheduler_->Add("harvest", options_.harvest_interval, [this] {
      Status st = deps_.harvest();
      if (!st.ok()) spdlog::error("harvest: {}", st.ToString());
    });
  }
  if (options_.inbox_retention.count() > 0) {
    scheduler_->Add("inbox-prune", options_.inbox_prune_interval, [this] {
      auto pruned = PruneInbox();
      if (!pruned.ok()) spdlog::error("inbox-prune: {}", pruned.status().ToString());
      else if (*pruned > 0) spdlog::info("inbox-prune: deleted {} done event(s)", *pruned);
    });
  }
  if (options_.outbox_retention.count() > 0) {
    scheduler_->Add("outbox-prune", options_.outbox_prune_interval, [this] {
      auto pruned = PruneOutbox();
      if (!pruned.ok()) spdlog::error("outbox-prune: {}", pruned.status().ToString());
      else if (*pruned > 0) spdlog::info("outbox-prune: deleted {} sent message(s)", *pruned);
    });
  }
  for (const PeriodicJob& job : deps_.periodic) {
    scheduler_->Add(job.name, job.interval, [this, job] {
      auto reload = job.run();
      if (!reload.ok()) {
        spdlog::error("{}: {}", job.name, reload.status().ToString());
      } else if (*reload) {
        Status st = ReloadModel();
        if (!st.ok()) spdlog::error("{}: new model did not load: {}", job.name, st.ToString());
      }
    });
  }
  if (deps_.retrainer != nullptr) {
    scheduler_->Add("retrain", options_.retrain.interval, [this] {
      auto r = retrain_->RunIfDue(/*scheduled=*/true);
      if (!r.ok()) spdlog::error("retrain: {}", r.status().ToString());
    });
    scheduler_->Add("retrain-by-count", std::chrono::milliseconds(0), [this] {
      auto r = retrain_->RunIfDue(/*scheduled=*/false);
      if (!r.ok()) spdlog::error("retrain: {}", r.status().ToString());
    });
  }

  router_ = std::make_unique<http::server::Router>();
  router_->Add("GET", "/healthz", [this](const Request&) { return Healthz(); });
  router_->Add("GET", "/readyz", [this](const Request&) { return Readyz(); });
  router_->Add("GET", "/metrics", [this](const Request&) { return MetricsPage(); });
  for (const auto& route : routes_) MountAsync(*router_, route);
  http::server::ServerOptions http_options;
  http_options.host = options_.host;
  http_options.port = options_.port;
  http_options.threads = options_.http_threads;
  http_options.max_body_bytes = options_.max_body_bytes;
  server_ = std::make_unique<http::server::Server>(http_options, router_->AsAsyncHandler());

  writer_.set_on_commit([this] { workers_->Wake(); });
  writer_.Start();
  workers_->Start();
  sender_->Start();
  scheduler_->Start();
  started_ = true;  // from here on, a failure is undone by Stop()
  for (InboundClient& c : clients_) {
    Status cst = c.start ? c.start() : Status::OK();
    if (!cst.ok()) {
      Stop();
      return cst.WithContext("start " + c.name);
    }
    c.started = true;
  }
  Status st = server_->Start();
  if (!st.ok()) {
    Stop();
    return st.WithContext("listen on " + options_.host + ":" + std::to_string(options_.port));
  }
  spdlog::info("service: listening on {}:{} ({} chat connector(s), {} worker(s))", options_.host,
               server_->port(), connectors_.size(), options_.workers.threads);
  return Status::OK();
}

void Service::Stop() {
  if (!started_) return;
  started_ = false;
  spdlog::info("service: stopping");
  // Order matters: requests in flight wait for their events to be stored, so
  // the HTTP server stops (drains) before the writer; the writer stores what
  // arrived before the workers stop; the sender goes last so answers the
  // workers produced meanwhile are still sent if they are due.
  if (server_) server_->Stop();
  for (auto it = clients_.rbegin(); it != clients_.rend(); ++it) {
    if (it->started && it->stop) it->stop();
    it->started = false;
  }
  writer_.Stop();
  if (workers_) workers_->Stop();
  if (sender_) sender_->Stop();
  if (scheduler_) scheduler_->Stop();
  spdlog::info("service: stopped");
}

namespace {

// Calls prune(cutoff, chunk) until a chunk comes back short; returns the
// rows deleted. Chunks keep each delete transaction short: the inbox writer
// (the ack path), the sender and the workers wait for the store lock
// meanwhile.
util::Result<std::int64_t> PruneInChunks(
    std::chrono::milliseconds retention,
    const std::function<util::Result<std::int64_t>(std::int64_t, int)>& prune) {
  const std::int64_t cutoff = NowMs() - retention.count();
  constexpr int kChunk = 2000;
  std::int64_t total = 0;
  for (;;) {
    auto n = prune(cutoff, kChunk);
    if (!n.ok()) return n.status();
    total += *n;
    if (*n < kChunk) return total;
  }
}

}  // namespace

util::Result<std::int64_t> Service::PruneInbox() {
  return PruneInChunks(options_.inbox_retention, [this](std::int64_t cutoff, int chunk) {
    return deps_.store->PruneInbox(cutoff, chunk);
  });
}

util::Result<std::int64_t> Service::PruneOutbox() {
  return PruneInChunks(options_.outbox_retention, [this](std::int64_t cutoff, int chunk) {
    return deps_.store->PruneOutbox(cutoff, chunk);
  });
}

std::uint16_t Service::port() const { return server_ ? server_->port() : 0; }

bool Service::ready() const {
  return started_ && model_loaded_ && deps_.store->CountChatQueues().ok();
}

void Service::OnProcessed(const ProcessResult& r) {
  if (r.enqueued) sender_->Wake();
  if (r.new_pairs > 0 && retrain_) {
    retrain_->NoteFeedback(r.new_pairs);
    if (retrain_->ShouldTrigger()) scheduler_->Trigger("retrain-by-count");
  }
}

Response Service::Healthz() const { return Response::Text(200, "ok\n"); }

Response Service::Readyz() const {
  nlohmann::json body;
  auto counts = deps_.store->CountChatQueues();
  const ModelSlot::Loaded loaded = models_.Get();
  body["store"] = counts.ok() ? "ok" : counts.status().ToString();
  body["model"] = loaded.model ? nlohmann::json(loaded.version) : nlohmann::json(nullptr);
  const bool ready = started_ && counts.ok() && loaded.model != nullptr;
  body["ready"] = ready;
  if (!loaded.model) body["reason"] = "no model loaded (train and promote one: deskbot train)";
  return Response::Json(ready ? 200 : 503, body.dump() + "\n");
}

Response Service::MetricsPage() const {
  Gauges g;
  auto counts = deps_.store->CountChatQueues();
  g.store_ok = counts.ok();
  if (counts.ok()) g.queues = *counts;
  const ModelSlot::Loaded loaded = models_.Get();
  g.model_version = loaded.model ? (loaded.version.empty() ? "unknown" : loaded.version) : "";
  std::string page = metrics_.Render(g);
  if (deps_.extra_metrics) page += deps_.extra_metrics();
  Response r = Response::Text(200, std::move(page));
  r.headers.Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
  return r;
}

}  // namespace deskbot::service

// The long-running process (`deskbot serve`): one HTTP server (chat
// webhooks, the web chat, /healthz, /readyz, /metrics), the inbox writer,
// inbox workers running the approval workflow, the outbox sender, and the
// schedulers (harvest, retrain). Everything it knows lives in the Store, so a
// restart resumes where the last process stopped. See README.md here.
//
//   Service service(options, {&store, load_model, &retrainer, harvest});
//   WebChat webchat(store, service.inbox(), ...);
//   service.AddConnector(webchat, webchat.Routes());
//   DESK_RETURN_IF_ERROR(service.Start());
//   ... wait for SIGTERM ...
//   service.Stop();
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bot/chat/http_route.h"
#include "bot/core/chat.h"
#include "bot/core/store.h"
#include "bot/service/inbox_writer.h"
#include "bot/service/metrics.h"
#include "bot/service/outbox_sender.h"
#include "bot/service/scheduler.h"
#include "bot/service/workers.h"
#include "bot/service/workflow.h"

namespace deskbot::service {

struct ServiceOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;           // 0: an ephemeral port (see port())
  int http_threads = 1;  // see server.threads in the README
  std::size_t max_body_bytes = 1 << 20;
  WorkerOptions workers;
  WorkflowOptions workflow;
  OutboxOptions outbox;
  InboxWriterOptions inbox;
  std::chrono::milliseconds harvest_interval{0};  // 0: no scheduled harvest
  // Done inbox events older than this are deleted (0: kept forever). Vendors
  // redeliver for minutes to an hour; the rest is history nobody reads.
  std::chrono::milliseconds inbox_retention{std::chrono::hours(72)};
  std::chrono::milliseconds inbox_prune_interval{std::chrono::hours(1)};
  // Sent outbox rows older than this are deleted (0: kept forever); rows
  // something still refers to stay (see Store::PruneOutbox).
  std::chrono::milliseconds outbox_retention{std::chrono::hours(72)};
  std::chrono::milliseconds outbox_prune_interval{std::chrono::hours(1)};
  RetrainOptions retrain;
};

// Loads the promoted model; a null model means none is promoted yet (every
// question then goes to agents as "abstained").
using ModelLoader = std::function<util::Result<ModelSlot::Loaded>()>;

// Work the scheduler runs every `interval` (e.g. polling fine-tuning jobs).
// `run` returns true when a new model version was promoted and the service
// should reload the model.
struct PeriodicJob {
  std::string name;
  std::chrono::milliseconds interval{60000};
  std::function<util::Result<bool>()> run;
};

struct ServiceDeps {
  Store* store = nullptr;
  ModelLoader load_model;                   // unset: no model
  Retrainer* retrainer = nullptr;           // unset: no retraining
  std::function<util::Status()> harvest;    // unset: no scheduled harvest
  std::vector<PeriodicJob> periodic;        // further scheduled work
  std::function<std::string()> extra_metrics;  // appended to /metrics (Prometheus text)
};

class Service {
 public:
  Service(ServiceOptions options, ServiceDeps deps);
  // Deletes done inbox events past options.inbox_retention, in chunks.
  // Returns how many. (The scheduler runs it every inbox_prune_interval.)
  util::Result<std::int64_t> PruneInbox();
  // Deletes sent outbox rows past options.outbox_retention, in chunks.
  // Returns how many. (The scheduler runs it every outbox_prune_interval.)
  util::Result<std::int64_t> PruneOutbox();
  ~Service();  // Stop()
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Where connectors put inbound events. Valid from construction; accepts
  // events once Start() ran.
  InboxSink& inbox();
  Metrics& metrics() { return metrics_; }
  ModelSlot& models() { return models_; }
  Store& store() { return *deps_.store; }

  // Before Start(): a chat to serve, and the HTTP routes it needs.
  void AddConnector(ChatConnector& connector, std::vector<chat::HttpRoute> routes = {});
  // Extra routes (e.g. an admin page) before Start().
  void AddRoute(chat::HttpRoute route);
  // Before Start(): a long-running inbound client that is not an HTTP route
  // (Slack Socket Mode, a polling loop). `start` runs once the inbox writer
  // accepts events (its failure fails Start()); `stop` runs when the HTTP
  // server has stopped and before the writer does, so every event the client
  // acknowledged is stored. Stopped in reverse order of adding.
  void AddInboundClient(std::string name, std::function<util::Status()> start,
                        std::function<void()> stop);

  // Re-queues events a previous process left claimed, loads the model,
  // starts the threads and, last, the HTTP server. Fails on a port in use or
  // a model that does not load.
  util::Status Start();
  // Graceful: stops accepting and answers requests in flight, writes the
  // events already received, lets workers finish the event at hand (claimed
  // but unstarted ones go back to pending), finishes the send at hand.
  // Idempotent.
  void Stop();

  std::uint16_t port() const;
  bool ready() const;
  // Loads the promoted model again (after a retrain promoted a new one).
  util::Status ReloadModel();

 private:
  http::server::Response Healthz() const;
  http::server::Response Readyz() const;
  http::server::Response MetricsPage() const;
  void OnProcessed(const ProcessResult& result);

  ServiceOptions options_;
  ServiceDeps deps_;
  Metrics metrics_;
  ModelSlot models_;
  ConnectorSet connectors_;
  std::vector<chat::HttpRoute> routes_;
  struct InboundClient {
    std::string name;
    std::function<util::Status()> start;
    std::function<void()> stop;
    bool started = false;
  };
  std::vector<InboundClient> clients_;
  InboxWriter writer_;
  std::unique_ptr<Workflow> workflow_;
  std::unique_ptr<InboxWorkers> workers_;
  std::unique_ptr<OutboxSender> sender_;
  std::unique_ptr<RetrainPolicy> retrain_;
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<http::server::Router> router_;
  std::unique_ptr<http::server::Server> server_;
  std::atomic<bool> started_{false};  // read by /readyz on I/O threads
  std::atomic<bool> model_loaded_{false};  // written by the scheduler thread on a reload
};

// Registers an asynchronous route on a router. Until the HTTP server has
// Router::AddAsync, the I/O thread waits for `respond` (the handler's
// callback), so an event is still acknowledged only once it is stored.
void MountAsync(http::server::Router& router, const chat::HttpRoute& route);

}  // namespace deskbot::service

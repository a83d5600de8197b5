// The service's smaller parts: the group-committing inbox writer, metrics,
// JSON logs, the retrain policy and the scheduler.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <thread>

#include <nlohmann/json.hpp>

#include "bot/service/inbox_writer.h"
#include "bot/service/logging.h"
#include "bot/service/metrics.h"
#include "bot/service/scheduler.h"
#include "bot/store/sqlite_store.h"
#include "connectors/http/client.h"
#include "connectors/http/server.h"

using namespace deskbot;
using namespace deskbot::service;

namespace {

std::unique_ptr<SqliteStore> Memory() { return std::move(SqliteStore::Open(":memory:")).value(); }

InboxEvent Event(const std::string& key) {
  return InboxEvent{0, "slack", "slack:" + key, "event", R"({"type":"event_callback"})", 0, 0};
}

}  // namespace

TEST_CASE("the inbox writer acks every event once it is stored, in group commits", "[service]") {
  auto store = Memory();
  Metrics metrics;
  InboxWriter writer(*store, {}, &metrics);
  std::atomic<int> woken{0};
  writer.set_on_commit([&] { ++woken; });
  writer.Start();

  constexpr int kThreads = 8, kPerThread = 250;
  std::atomic<int> acked_new{0}, acked_dup{0}, errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::promise<void> done;
        // Every event twice: the second is a vendor retry.
        for (int copy = 0; copy < 2; ++copy) {
          std::promise<util::Result<bool>> p;
          writer.Submit(Event(std::to_string(t) + "-" + std::to_string(i)),
                        [&](util::Result<bool> r) { p.set_value(r); });
          auto r = p.get_future().get();
          if (!r.ok()) ++errors;
          else if (*r) ++acked_new;
          else ++acked_dup;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  writer.Stop();
  CHECK(errors == 0);
  CHECK(acked_new == kThreads * kPerThread);
  CHECK(acked_dup == kThreads * kPerThread);
  CHECK(store->CountChatQueues()->inbox_pending == kThreads * kPerThread);
  CHECK(metrics.ack_latency.count() == 2u * kThreads * kPerThread);
  CHECK(metrics.inbox_batch_events == 2u * kThreads * kPerThread);
  // Concurrent submitters share commits.
  CHECK(metrics.inbox_batches < metrics.inbox_batch_events);
  CHECK(woken > 0);
  CHECK(metrics.events("slack", "duplicate_event") == static_cast<std::uint64_t>(kThreads * kPerThread));
}

namespace {

// A server whose POST /event stores the body's event through `writer` and
// answers from the ack, as the chat routes do; POST /event-wait blocks its
// thread until the ack, as Slack's interactivity route does. Counts the acks
// that ran on an I/O thread.
http::server::Router StoringRouter(InboxWriter& writer, std::atomic<int>& acks_on_io) {
  http::server::Router router;
  router.AddAsync("POST", "/event", [&](const http::server::Request& r, http::server::Responder respond) {
    writer.SubmitFromAsyncRoute(Event(r.body), [&acks_on_io, respond](util::Result<bool> stored) {
      if (http::server::OnIoThread()) ++acks_on_io;
      respond(http::server::Response::Text(stored.ok() ? 200 : 503,
                                           stored.ok() && *stored ? "new" : "old"));
    });
  });
  router.Add("POST", "/event-wait", [&](const http::server::Request& r) {
    // Shared: a late ack (after the timeout below) must find it alive.
    auto stored = std::make_shared<std::promise<util::Result<bool>>>();
    writer.Submit(Event(r.body), [&acks_on_io, stored](util::Result<bool> s) {
      if (http::server::OnIoThread()) ++acks_on_io;
      stored->set_value(s);
    });
    // Bounded: were the commit queued behind this very handler, the ack would
    // never come, and the test should fail rather than hang.
    auto done = stored->get_future();
    if (done.wait_for(std::chrono::seconds(10)) != std::future_status::ready)
      return http::server::Response::Text(504, "no ack");
    auto s = done.get();
    return http::server::Response::Text(s.ok() ? 200 : 503, s.ok() && *s ? "new" : "old");
  });
  return router;
}

util::Result<http::Response> PostText(http::Client& client, const std::string& url,
                                      const std::string& body) {
  http::Request req;
  req.method = "POST";
  req.url = url;
  req.body = body;
  req.fail_on_http_error = false;  // the test looks at the status
  return client.Send(req);
}

// The answer's status, -1 when none came.
int PostStatus(http::Client& client, const std::string& url, const std::string& body) {
  auto res = PostText(client, url, body);
  return res.ok() ? res->status : -1;
}

std::string UrlOf(const http::server::Server& server, const std::string& path) {
  return "http://127.0.0.1:" + std::to_string(server.port()) + path;
}

}  // namespace

TEST_CASE("events submitted on an HTTP I/O thread are committed there, a round of reads at a time",
          "[service]") {
  auto store = Memory();
  Metrics metrics;
  InboxWriter writer(*store, {}, &metrics);
  writer.Start();
  std::atomic<int> acks_on_io{0};
  http::server::ServerOptions opt;
  opt.threads = 1;
  const http::server::Router router = StoringRouter(writer, acks_on_io);
  http::server::Server server(opt, router.AsAsyncHandler());
  REQUIRE(server.Start().ok());

  constexpr int kClients = 16, kPerClient = 25;
  const std::string url = UrlOf(server, "/event");
  std::atomic<int> fresh{0}, repeated{0}, failed{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      auto client = http::Client::Create({});
      if (!client.ok()) return void(failed += kPerClient * 2);
      for (int i = 0; i < kPerClient; ++i) {
        const std::string key = std::to_string(c) + "-" + std::to_string(i);
        for (int copy = 0; copy < 2; ++copy) {  // the second is the vendor's retry
          auto res = PostText(**client, url, key);
          if (!res.ok() || res->status != 200) ++failed;
          else if (res->body == "new") ++fresh;
          else ++repeated;
        }
      }
    });
  }
  for (auto& t : clients) t.join();
  server.Stop();
  writer.Stop();
  CHECK(failed == 0);
  CHECK(fresh == kClients * kPerClient);
  CHECK(repeated == kClients * kPerClient);
  CHECK(store->CountChatQueues()->inbox_pending == kClients * kPerClient);
  // Every ack came from a commit on the I/O thread, not from the writer's.
  CHECK(acks_on_io == 2 * kClients * kPerClient);
  CHECK(metrics.inbox_batch_events == 2u * kClients * kPerClient);
}

TEST_CASE("a route that waits on an I/O thread for its ack gets it from the writer thread", "[service]") {
  auto store = Memory();
  InboxWriter writer(*store, {}, nullptr);
  writer.Start();
  std::atomic<int> acks_on_io{0};
  http::server::ServerOptions opt;
  opt.threads = 1;
  const http::server::Router router = StoringRouter(writer, acks_on_io);
  http::server::Server server(opt, router.AsHandler());
  REQUIRE(server.Start().ok());
  auto client = http::Client::Create({});
  REQUIRE(client.ok());
  for (const char* body : {"w1", "w2", "w1"})
    CHECK(PostStatus(**client, UrlOf(server, "/event-wait"), body) == 200);
  CHECK(acks_on_io == 0);
  CHECK(store->CountChatQueues()->inbox_pending == 2);
  server.Stop();
}

TEST_CASE("Stop writes what an I/O thread submitted and has not committed yet", "[service]") {
  auto store = Memory();
  InboxWriter writer(*store, {}, nullptr);
  writer.Start();
  http::server::Router router;
  std::atomic<bool> in_stop{false}, acked_in_stop{false};
  router.AddAsync("POST", "/event", [&](const http::server::Request& r, http::server::Responder respond) {
    writer.SubmitFromAsyncRoute(Event(r.body), [&, respond](util::Result<bool> stored) {
      if (in_stop && stored.ok() && *stored) acked_in_stop = true;
      respond(http::server::Response::Text(stored.ok() ? 200 : 503, ""));
    });
    // The event waits for the end of this round; Stop comes first.
    in_stop = true;
    writer.Stop();
    in_stop = false;
  });
  http::server::ServerOptions opt;
  opt.threads = 1;
  http::server::Server server(opt, router.AsAsyncHandler());
  REQUIRE(server.Start().ok());
  auto client = http::Client::Create({});
  REQUIRE(client.ok());
  CHECK(PostStatus(**client, UrlOf(server, "/event"), "last-one") == 200);
  CHECK(acked_in_stop);
  CHECK(store->CountChatQueues()->inbox_pending == 1);
  // After Stop the writer refuses: the vendor is told to retry.
  CHECK(PostStatus(**client, UrlOf(server, "/event"), "too-late") == 503);
  CHECK(store->CountChatQueues()->inbox_pending == 1);
  server.Stop();
}

TEST_CASE("the inbox writer refuses bad events alone and everything after Stop", "[service]") {
  auto store = Memory();
  InboxWriter writer(*store, {}, nullptr);
  writer.Start();
  std::promise<util::Result<bool>> bad, good;
  InboxEvent e = Event("x");
  e.event_key.clear();
  writer.Submit(e, [&](util::Result<bool> r) { bad.set_value(r); });
  writer.Submit(Event("y"), [&](util::Result<bool> r) { good.set_value(r); });
  CHECK(bad.get_future().get().status().code() == util::Status::Code::kInvalidArgument);
  auto g = good.get_future().get();
  REQUIRE(g.ok());
  CHECK(*g);
  writer.Stop();
  std::promise<util::Result<bool>> late;
  writer.Submit(Event("z"), [&](util::Result<bool> r) { late.set_value(r); });
  CHECK(late.get_future().get().status().code() == util::Status::Code::kUnavailable);
}

TEST_CASE("a writer gathering a batch stores what is queued and stops without waiting out its window",
          "[service]") {
  auto store = Memory();
  Metrics metrics;
  InboxWriterOptions options;
  options.gather = std::chrono::hours(1);  // a gather that ends only by a wake-up
  InboxWriter writer(*store, options, &metrics);
  writer.Start();
  // Submitters that do not wait for their acks queue events faster than the
  // writer commits, so it gathers after most commits.
  constexpr int kThreads = 4, kPerThread = 200;
  std::atomic<int> acked{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i)
        writer.Submit(Event("g" + std::to_string(t) + "-" + std::to_string(i)),
                      [&](util::Result<bool> r) { if (r.ok() && *r) ++acked; });
    });
  }
  for (auto& t : threads) t.join();
  // Stop must end the gather at once and write every queued event. A broken
  // wake-up would hang for an hour: the watchdog fails the test instead (it
  // exits, since the stuck thread can be neither joined nor abandoned).
  std::promise<void> stopped;
  std::thread stopper([&] { writer.Stop(); stopped.set_value(); });
  if (stopped.get_future().wait_for(std::chrono::seconds(60)) != std::future_status::ready) {
    std::fprintf(stderr, "FAILED: InboxWriter::Stop did not end a gathering wait within 60 s\n");
    std::_Exit(1);
  }
  stopper.join();
  CHECK(acked == kThreads * kPerThread);
  CHECK(store->CountChatQueues()->inbox_pending == kThreads * kPerThread);
  CHECK(metrics.inbox_batches < metrics.inbox_batch_events);
}

TEST_CASE("metrics render in the Prometheus text format", "[service]") {
  Metrics m;
  m.CountEvent("slack", "question");
  m.CountEvent("slack", "question");
  m.CountSend("webchat", "answer", "sent");
  m.ack_latency.Observe(std::chrono::microseconds(300));
  m.suggestion_latency.Observe(std::chrono::milliseconds(40));
  Gauges g;
  g.store_ok = true;
  g.queues.inbox_pending = 3;
  g.queues.outbox_sending = 1;
  g.queues.suggestions[static_cast<int>(SuggestionState::kPending)] = 5;
  g.model_version = "local-7";
  const std::string text = m.Render(g);
  CHECK_THAT(text, Catch::Contains("deskbot_events_total{connector=\"slack\",type=\"question\"} 2"));
  CHECK_THAT(text, Catch::Contains(
                       "deskbot_outbox_sends_total{connector=\"webchat\",kind=\"answer\",result=\"sent\"} 1"));
  CHECK_THAT(text, Catch::Contains("deskbot_ack_latency_seconds_bucket{le=\"0.0005\"} 1"));
  CHECK_THAT(text, Catch::Contains("deskbot_ack_latency_seconds_bucket{le=\"0.00025\"} 0"));
  CHECK_THAT(text, Catch::Contains("deskbot_ack_latency_seconds_count 1"));
  CHECK_THAT(text, Catch::Contains("deskbot_suggestion_latency_seconds_bucket{le=\"0.05\"} 1"));
  CHECK_THAT(text, Catch::Contains("deskbot_inbox_depth 3"));
  CHECK_THAT(text, Catch::Contains("deskbot_outbox_depth 1"));
  CHECK_THAT(text, Catch::Contains("deskbot_suggestions{state=\"pending\"} 5"));
  CHECK_THAT(text, Catch::Contains("deskbot_model_info{version=\"local-7\"} 1"));
  CHECK_THAT(text, Catch::Contains("# TYPE deskbot_ack_latency_seconds histogram"));
  CHECK(Metrics::Labels({{"v", "a\"b\\c\nd"}}) == "v=\"a\\\"b\\\\c\\nd\"");
}

TEST_CASE("JSON log lines are valid JSON whatever the message holds", "[service]") {
  const std::string line = JsonLogLine("2024-01-01T00:00:00.000Z", "warning",
                                       "quote \" backslash \\ newline \n tab \t ctl \x01 ünï");
  auto j = nlohmann::json::parse(line, nullptr, false);
  REQUIRE(j.is_object());
  CHECK(j["level"] == "warning");
  CHECK(j["msg"] == "quote \" backslash \\ newline \n tab \t ctl \x01 ünï");
  CHECK(ConfigureLogging({"info", "json"}).ok());
  CHECK(ConfigureLogging({"loud", "json"}).code() == util::Status::Code::kInvalidArgument);
  CHECK(ConfigureLogging({"info", "xml"}).code() == util::Status::Code::kInvalidArgument);
  CHECK(ConfigureLogging({"info", "text"}).ok());
}

namespace {
struct CountingRetrainer : Retrainer {
  std::vector<RetrainRequest> requests;
  bool promote = true;
  util::Result<RetrainOutcome> Retrain(const RetrainRequest& r) override {
    requests.push_back(r);
    return RetrainOutcome{promote, "v" + std::to_string(requests.size() + 1), "better"};
  }
};

void AddFeedback(Store& store, int n) {
  for (int i = 0; i < n; ++i) {
    Pair p;
    p.question = "q" + std::to_string(i);
    p.answer = "a";
    p.origin = PairOrigin::kApproved;
    REQUIRE(store.AddPair(p).ok());
  }
}
}  // namespace

TEST_CASE("the retrain policy retrains every N feedback pairs and on schedule when needed",
          "[service]") {
  auto store = Memory();
  CountingRetrainer retrainer;
  int promoted = 0;
  RetrainOptions o;
  o.every_pairs = 3;
  RetrainPolicy policy(*store, &retrainer, o, [&](const RetrainOutcome&) { ++promoted; });

  AddFeedback(*store, 2);
  CHECK_FALSE(*policy.RunIfDue(false));  // 2 < 3
  AddFeedback(*store, 1);
  CHECK(*policy.RunIfDue(false));
  REQUIRE(retrainer.requests.size() == 1);
  CHECK(retrainer.requests[0].new_feedback_pairs == 3);
  CHECK(promoted == 1);
  CHECK_FALSE(*policy.RunIfDue(false));  // the mark moved
  CHECK_FALSE(*policy.RunIfDue(true));   // nothing changed since
  AddFeedback(*store, 1);
  CHECK(*policy.RunIfDue(true));         // the schedule retrains on any change
  CHECK(retrainer.requests.back().reason == "schedule");

  // The mark survives a restart (a new policy on the same store).
  RetrainPolicy again(*store, &retrainer, o, nullptr);
  CHECK_FALSE(*again.RunIfDue(true));
  // No retrainer: never due.
  RetrainPolicy none(*store, nullptr, o, nullptr);
  AddFeedback(*store, 5);
  CHECK_FALSE(*none.RunIfDue(true));
}

TEST_CASE("the scheduler runs jobs on their interval and on demand, one at a time", "[service]") {
  Scheduler s;
  std::atomic<int> ticks{0}, triggered{0}, running{0}, overlap{0};
  auto job = [&](std::atomic<int>& counter) {
    return [&] {
      if (running.fetch_add(1) > 0) ++overlap;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      ++counter;
      running.fetch_sub(1);
    };
  };
  s.Add("tick", std::chrono::milliseconds(10), job(ticks));
  s.Add("manual", std::chrono::milliseconds(0), job(triggered));
  s.Start();
  s.Trigger("manual");
  for (int i = 0; i < 200 && (ticks < 3 || triggered < 1); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  s.Stop();
  CHECK(ticks >= 3);
  CHECK(triggered == 1);
  CHECK(overlap == 0);
}

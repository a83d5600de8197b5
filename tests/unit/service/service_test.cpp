// The assembled Service: inbound clients start after the inbox accepts events
// and stop before it closes; /healthz, /readyz; a port in use fails Start.
#include <catch2/catch.hpp>

#include <functional>
#include <future>
#include <thread>

#include "bot/service/service.h"
#include "bot/store/sqlite_store.h"
#include "tests/unit/service/fakes.h"

using namespace deskbot;
using namespace deskbot::service;
using deskbot::testing::FakeChat;
using deskbot::testing::FakeConnector;

namespace {

util::Result<bool> SubmitAndWait(InboxSink& sink, const std::string& key, const std::string& text) {
  std::promise<util::Result<bool>> p;
  sink.Submit({0, "fake", "fake:" + key, "event",
               nlohmann::json{{"type", "question"}, {"message_id", key}, {"text", text}}.dump(), 0, 0},
              [&](util::Result<bool> r) { p.set_value(r); });
  return p.get_future().get();
}

// A service on `store` alone: no model, no retraining, no harvest.
ServiceDeps StoreOnly(Store* store) {
  ServiceDeps deps;
  deps.store = store;
  return deps;
}

// An ephemeral port and short polls, so tests do not wait.
ServiceOptions QuickOptions() {
  ServiceOptions o;
  o.port = 0;
  o.workers.poll = std::chrono::milliseconds(20);
  o.outbox.poll = std::chrono::milliseconds(20);
  return o;
}

}  // namespace

TEST_CASE("service: inbound clients run while the inbox accepts events", "[service]") {
  auto store = std::move(SqliteStore::Open(":memory:")).value();
  auto chat = std::make_shared<FakeChat>();
  FakeConnector connector(chat);
  ServiceOptions o = QuickOptions();
  Service svc(o, StoreOnly(store.get()));
  svc.AddConnector(connector);
  std::vector<std::string> log;
  util::Result<bool> on_stop = util::Status::Internal("not called");
  svc.AddInboundClient(
      "socket",
      [&] {
        log.push_back("start");
        auto r = SubmitAndWait(svc.inbox(), "s1", "hello from the socket");
        return r.ok() ? util::Status::OK() : r.status();
      },
      [&] {
        log.push_back("stop");
        // A frame acknowledged while stopping must still be stored.
        on_stop = SubmitAndWait(svc.inbox(), "s2", "last frame");
      });
  REQUIRE(svc.Start().ok());
  for (int i = 0; i < 200 && chat->Of("suggestion").empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(chat->Of("suggestion").size() == 1);
  CHECK(!svc.ready());  // no model loaded
  svc.Stop();
  CHECK(log == std::vector<std::string>{"start", "stop"});
  REQUIRE(on_stop.ok());
  CHECK(*on_stop);
  auto counts = store->CountChatQueues();
  CHECK(counts->inbox_pending + counts->inbox_done == 2);
  // Stopping twice is harmless.
  svc.Stop();
}

TEST_CASE("service: a failing inbound client or a busy port fails Start cleanly", "[service]") {
  auto store = std::move(SqliteStore::Open(":memory:")).value();
  auto chat = std::make_shared<FakeChat>();
  FakeConnector connector(chat);
  ServiceOptions o;
  o.port = 0;
  {
    Service svc(o, StoreOnly(store.get()));
    svc.AddConnector(connector);
    svc.AddInboundClient("socket", [] { return util::Status::Unauthorized("invalid_auth"); }, nullptr);
    util::Status st = svc.Start();
    CHECK(st.code() == util::Status::Code::kUnauthorized);
    CHECK_THAT(st.message(), Catch::Contains("start socket"));
  }
  Service first(o, StoreOnly(store.get()));
  first.AddConnector(connector);
  REQUIRE(first.Start().ok());
  ServiceOptions same = o;
  same.port = first.port();
  Service second(same, StoreOnly(store.get()));
  second.AddConnector(connector);
  CHECK(!second.Start().ok());
  first.Stop();
}

// A started service on an in-memory store, with no model, that has taken
// the question "my vpn drops".
struct AskedService {
  explicit AskedService(const ServiceOptions& o) : svc(o, StoreOnly(store.get())) {
    svc.AddConnector(connector);
    REQUIRE(svc.Start().ok());
    REQUIRE(SubmitAndWait(svc.inbox(), "q1", "my vpn drops").ok());
  }
  ~AskedService() { svc.Stop(); }

  std::unique_ptr<SqliteStore> store = std::move(SqliteStore::Open(":memory:")).value();
  std::shared_ptr<FakeChat> chat = std::make_shared<FakeChat>();
  FakeConnector connector{chat};
  Service svc;
};

// Polls `done` every 10 ms for up to 3 s.
bool PollUntil(const std::function<bool()>& done) {
  for (int i = 0; i < 300; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

TEST_CASE("service: the scheduler deletes done inbox events past their retention", "[service]") {
  ServiceOptions o = QuickOptions();
  o.inbox_retention = std::chrono::milliseconds(1);
  o.inbox_prune_interval = std::chrono::milliseconds(50);
  AskedService s(o);
  // Processed (a suggestion for agents), then, once done, pruned.
  CHECK(PollUntil([&] {
    auto c = s.store->CountChatQueues();
    return c.ok() && !s.chat->Of("suggestion").empty() &&
           c->inbox_pending + c->inbox_processing + c->inbox_done == 0;
  }));
  CHECK(s.chat->Of("suggestion").size() == 1);
}

TEST_CASE("service: the scheduler deletes sent outbox rows past their retention", "[service]") {
  ServiceOptions o = QuickOptions();
  o.outbox_retention = std::chrono::milliseconds(1);
  o.outbox_prune_interval = std::chrono::milliseconds(50);
  AskedService s(o);
  // No model: the agents get a suggestion and the asker a notice. Once both
  // are sent the notice's row goes; the suggestion still refers to its own.
  CHECK(PollUntil([&] {
    auto c = s.store->CountChatQueues();
    return c.ok() && !s.chat->Of("suggestion").empty() && !s.chat->Of("notice").empty() &&
           c->outbox_pending + c->outbox_sending == 0 && c->outbox_sent == 1;
  }));
  CHECK(s.chat->Of("notice").size() == 1);
  auto view = s.store->GetSuggestion(s.chat->Of("suggestion").front().suggestion_id);
  REQUIRE(view.ok());
  REQUIRE(view->has_value());
  CHECK(!(*view)->suggestion.agent_message_ref.empty());
}

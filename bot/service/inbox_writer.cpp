#include "bot/service/inbox_writer.h"

#include <map>
#include <string>

#include <spdlog/spdlog.h>

#include "connectors/http/server.h"

namespace deskbot::service {

namespace {
// At most this many rounds of reads gather one batch on an I/O thread.
constexpr int kIoGatherRounds = 4;
}  // namespace

InboxWriter::InboxWriter(Store& store, InboxWriterOptions options, Metrics* metrics)
    : store_(store), options_(options), metrics_(metrics) {
  if (options_.max_batch == 0) options_.max_batch = 1;
}

InboxWriter::~InboxWriter() { Stop(); }

void InboxWriter::Start() { thread_.Start("inbox-writer", [this] { Run(); }); }

void InboxWriter::Batch::Add(InboxEvent event, InboxAck ack, Clock::time_point when) {
  events.push_back(std::move(event));
  acks.push_back(std::move(ack));
  started.push_back(when);
}

void InboxWriter::Batch::MoveOldestTo(std::size_t n, Batch& out) {
  if (size() <= n) {
    std::swap(*this, out);
    return;
  }
  const auto k = static_cast<std::ptrdiff_t>(n);
  out.events.assign(std::make_move_iterator(events.begin()), std::make_move_iterator(events.begin() + k));
  out.acks.assign(std::make_move_iterator(acks.begin()), std::make_move_iterator(acks.begin() + k));
  out.started.assign(started.begin(), started.begin() + k);
  events.erase(events.begin(), events.begin() + k);
  acks.erase(acks.begin(), acks.begin() + k);
  started.erase(started.begin(), started.begin() + k);
}

void InboxWriter::Batch::Clear() {
  events.clear();
  acks.clear();
  started.clear();
}

// Writes everything submitted so far (the loop drains before it returns).
void InboxWriter::Stop() {
  thread_.Stop();
  CommitIoThreadLeftovers();
}

void InboxWriter::CommitThisThread() {
  Batch batch;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = on_io_threads_.find(std::this_thread::get_id());
    if (it == on_io_threads_.end()) return;
    IoThreadBatch& pending = it->second;
    // Gather while the rounds of reads keep bringing events: the clients
    // whose answers went out with the last commit are sending their next
    // requests. Each round costs one non-blocking epoll_wait. Committing
    // after the first round gave batches of 4.9 events at 16 connections;
    // gathering, about 10: 18.0 instead of 20.5 us of CPU per event and 14%
    // more acks/s (interleaved runs; 64 connections: 16.1 against 16.6 us).
    const std::size_t size = pending.batch.size();
    if (pending.rounds < kIoGatherRounds &&
        (pending.rounds == 0 || size > pending.size_at_last_round)) {
      ++pending.rounds;
      pending.size_at_last_round = size;
      http::server::RunAfterThisRound([this] { CommitThisThread(); });
      return;
    }
    std::swap(batch, pending.batch);
    pending = IoThreadBatch{};
  }
  if (!batch.empty()) Commit(batch);
}

void InboxWriter::CommitIoThreadLeftovers() {
  std::unordered_map<std::thread::id, IoThreadBatch> left;
  {
    std::lock_guard<std::mutex> lock(mu_);
    left.swap(on_io_threads_);
  }
  for (auto& [thread, pending] : left) {
    if (!pending.batch.empty()) Commit(pending.batch);
  }
}

void InboxWriter::Submit(InboxEvent event, InboxAck ack) {
  Enqueue(std::move(event), std::move(ack), /*commit_on_io_thread=*/false);
}

void InboxWriter::SubmitFromAsyncRoute(InboxEvent event, InboxAck ack) {
  Enqueue(std::move(event), std::move(ack), /*commit_on_io_thread=*/true);
}

void InboxWriter::Enqueue(InboxEvent event, InboxAck ack, bool commit_on_io_thread) {
  if (event.connector.empty() || event.event_key.empty()) {
    ack(util::Status::InvalidArgument("inbox: an event needs a connector and an event key"));
    return;
  }
  const auto now = Clock::now();
  bool notify = false;
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (!thread_.running() || thread_.stopping()) {
      lock.unlock();
      ack(util::Status::Unavailable("inbox: the service is stopping"));
      return;
    }
    if (commit_on_io_thread && http::server::OnIoThread()) {
      Batch& batch = on_io_threads_[std::this_thread::get_id()].batch;
      const bool first = batch.empty();
      batch.Add(std::move(event), std::move(ack), now);
      lock.unlock();
      if (first) http::server::RunAfterThisRound([this] { CommitThisThread(); });
      return;
    }
    queue_.Add(std::move(event), std::move(ack), now);
    // A gathering writer waits for one event more than its last batch held.
    notify = writer_idle_ || (gather_target_ != 0 && queue_.size() == gather_target_);
    writer_idle_ = false;
  }
  // Only an idle writer needs waking: a busy one takes this event with its
  // next batch. Saves a futex call per event under load.
  if (notify) cv_.notify_one();
}

void InboxWriter::Run() {
  Batch batch;
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    while (queue_.empty() && !thread_.stopping()) {
      writer_idle_ = true;
      cv_.wait(lock);
    }
    writer_idle_ = false;
    if (queue_.empty() && thread_.stopping()) return;
    // The oldest max_batch at most; the rest wait for the next commit.
    queue_.MoveOldestTo(options_.max_batch, batch);
    lock.unlock();
    const std::size_t committed = batch.size();
    Commit(batch);
    batch.Clear();
    lock.lock();
    // Under load (more than one event arrived during the last commit), let
    // the next batch gather: a commit costs about the same for 5 events as
    // for 50, so bigger batches cost less CPU per event. The wait ends when
    // the queue holds one event more than the last batch (the submitter wakes
    // the writer then), else after the gather window, so batches grow until
    // the clients in flight are all waiting on one commit. Against a fixed
    // sleep of the window, in the ack benchmark at 16 connections: 33,200
    // instead of 29,300 acks/s, 24.6 instead of 25.8 us of CPU per event
    // (64 connections unchanged). An event arriving at an idle writer is
    // still written at once.
    if (committed > 1 && options_.gather.count() > 0 && queue_.size() <= committed) {
      gather_target_ = committed + 1;
      cv_.wait_for(lock, options_.gather,
                   [&] { return queue_.size() > committed || thread_.stopping(); });
      gather_target_ = 0;
    }
  }
}

void InboxWriter::Commit(Batch& batch) {
  const std::vector<InboxEvent>& events = batch.events;
  std::vector<InboxAck>& acks = batch.acks;
  const std::vector<Clock::time_point>& started = batch.started;
  auto fresh = store_.InsertInboxBatch(events);
  if (!fresh.ok() && fresh.status().code() == util::Status::Code::kInvalidArgument &&
      events.size() > 1) {
    // One bad event (a constraint it breaks) must not fail the others: write
    // them one by one so only the bad one is refused.
    std::vector<bool> each(events.size(), false);
    std::vector<util::Status> errors(events.size());
    for (std::size_t i = 0; i < events.size(); ++i) {
      auto one = store_.InsertInboxBatch(std::span<const InboxEvent>(&events[i], 1));
      if (one.ok()) each[i] = (*one)[0];
      else errors[i] = one.status();
    }
    bool any_new = false;
    for (std::size_t i = 0; i < events.size(); ++i) {
      if (errors[i].ok()) {
        any_new = any_new || each[i];
        acks[i](static_cast<bool>(each[i]));
      } else {
        acks[i](errors[i]);
      }
    }
    if (any_new && on_commit_) on_commit_();
    return;
  }
  if (!fresh.ok()) {
    spdlog::warn("inbox: could not store {} event(s): {}", events.size(), fresh.status().ToString());
    for (auto& ack : acks) ack(fresh.status());
    return;
  }
  const auto now = Clock::now();
  bool any_work = false;  // a new event for the workers
  // Events stored done at receipt, counted once per batch and connector (the
  // labelled counter takes a lock and builds its key: not per event).
  std::map<std::string, std::uint64_t> ignored;
  for (std::size_t i = 0; i < events.size(); ++i) {
    const bool is_new = (*fresh)[i];
    any_work = any_work || (is_new && events[i].needs_processing);
    if (metrics_ != nullptr) {
      metrics_->ack_latency.Observe(now - started[i]);
      if (!is_new) metrics_->CountEvent(events[i].connector, "duplicate_event");
      else if (!events[i].needs_processing) ++ignored[events[i].connector];
    }
    acks[i](is_new);
  }
  for (const auto& [connector, n] : ignored) metrics_->CountEvent(connector, "ignored", n);
  if (metrics_ != nullptr) {
    metrics_->inbox_batches.fetch_add(1, std::memory_order_relaxed);
    metrics_->inbox_batch_events.fetch_add(events.size(), std::memory_order_relaxed);
  }
  if (any_work && on_commit_) on_commit_();
}

}  // namespace deskbot::service

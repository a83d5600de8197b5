// The inbox writer: durable storage of inbound events, with group commit.
//
// HTTP handlers (and socket clients) Submit events from any thread. One
// writer thread takes every event that arrived while its previous commit ran
// and writes them in ONE transaction, then calls each event's ack. Under load
// a commit therefore costs one transaction per batch rather than per event;
// when idle an event is written as soon as it arrives (no timer, no waiting
// for a batch to fill).
//
// Events an asynchronous HTTP route submits (SubmitFromAsyncRoute) on one of
// the server's I/O threads are committed on that thread instead, once it has
// read every request that arrived together (http::server::RunAfterThisRound)
// and while the next rounds of reads keep bringing more (at most 4): one
// transaction for the requests in flight, and no hand-off to another thread
// and back. In the ack benchmark at 16
// connections that cost less CPU per event than the writer thread did,
// which spent a fifth of its time being woken and put to sleep.
//
// The ack is the point of no return: a handler answers the vendor (HTTP 200)
// only from the ack, so an event the vendor saw acknowledged is on disk.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "bot/core/chat.h"
#include "bot/core/store.h"
#include "bot/service/background_thread.h"
#include "bot/service/metrics.h"

namespace deskbot::service {

struct InboxWriterOptions {
  // Events per transaction at most, on the writer thread. (An I/O thread's
  // batch holds the requests that thread has in flight, at most.)
  std::size_t max_batch = 4096;
  // Under load, how long the next batch may gather after a commit (adds at
  // most this much to the ack latency, saves commits). It stops gathering
  // early once the batch is bigger than the last one.
  std::chrono::microseconds gather{200};
};

class InboxWriter final : public InboxSink {
 public:
  InboxWriter(Store& store, InboxWriterOptions options, Metrics* metrics);
  ~InboxWriter() override;  // Stop()
  InboxWriter(const InboxWriter&) = delete;
  InboxWriter& operator=(const InboxWriter&) = delete;

  void Start();
  // Writes everything submitted so far, then stops the thread. Events
  // submitted afterwards are refused (kUnavailable) so the vendor retries.
  // Stop the HTTP server first: a batch an I/O thread has not committed yet
  // is written here, but its acks then reach a stopped server.
  void Stop();

  // Thread-safe. An event without a connector or event key is refused at once
  // (kInvalidArgument) rather than failing its whole batch.
  void Submit(InboxEvent event, InboxAck ack) override;
  // The same, committed on the calling I/O thread (see InboxSink).
  void SubmitFromAsyncRoute(InboxEvent event, InboxAck ack) override;

  // Called after each commit that stored a new event, on the thread that
  // committed it (the writer's or an I/O thread): wakes the workers.
  void set_on_commit(std::function<void()> fn) { on_commit_ = std::move(fn); }

 private:
  using Clock = std::chrono::steady_clock;
  // Events waiting for one commit, with their acks and arrival times. Three
  // parallel vectors (not a vector of structs) so the events can be handed
  // to the store as one span without copying.
  struct Batch {
    std::vector<InboxEvent> events;
    std::vector<InboxAck> acks;
    std::vector<Clock::time_point> started;

    std::size_t size() const { return events.size(); }
    bool empty() const { return events.empty(); }
    void Add(InboxEvent event, InboxAck ack, Clock::time_point when);
    // Moves the oldest `n` events (all of them when fewer) to the empty `out`.
    void MoveOldestTo(std::size_t n, Batch& out);
    void Clear();
  };
  // An I/O thread's batch, and the rounds of reads it has waited for.
  struct IoThreadBatch {
    Batch batch;
    int rounds = 0;
    std::size_t size_at_last_round = 0;
  };

  void Enqueue(InboxEvent event, InboxAck ack, bool commit_on_io_thread);
  void Run();
  // Commits what the calling I/O thread submitted, once the rounds of reads
  // stop bringing more.
  void CommitThisThread();
  // Commits every batch I/O threads left behind (Stop).
  void CommitIoThreadLeftovers();
  // Stores `batch` and runs its acks.
  void Commit(Batch& batch);

  Store& store_;
  InboxWriterOptions options_;
  Metrics* metrics_;
  std::function<void()> on_commit_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool writer_idle_ = false;  // the writer waits on cv_: Submit must notify
  // While the writer gathers a batch: the queue length at which Submit wakes
  // it (0 when not gathering).
  std::size_t gather_target_ = 0;
  Batch queue_;  // for the writer thread
  // Events submitted on I/O threads, by thread, waiting for the end of the
  // thread's rounds of reads. Guarded by mu_.
  std::unordered_map<std::thread::id, IoThreadBatch> on_io_threads_;
  BackgroundThread thread_{mu_, cv_};
};

}  // namespace deskbot::service

// Slack Socket Mode: receive events, interactions and slash commands over
// WebSockets instead of a public HTTPS URL (websocketpp underneath, kept out of
// this header).
//
// The client keeps `connections` sockets open (Slack picks one per envelope;
// two mean a refresh never leaves a gap). For each socket it asks for a fresh
// single-use URL (apps.connections.open), connects (wss://, or ws:// for local
// tests), waits for `hello`, then for every envelope calls the handler and
// acks {"envelope_id": ...} only when the handler succeeded -- so the handler
// must return after the envelope is durably stored, and a failure leaves it
// un-acked for Slack to redeliver. Disconnect frames are obeyed (warning /
// refresh_requested: a new socket is opened before the old one closes;
// link_disabled: stop; too_many_websockets: back off), dropped sockets come
// back with exponential backoff and jitter, and pings detect dead peers.
//
// The same envelope may arrive twice (a retry on another socket or replica):
// deduplicating is the caller's job. URLs are never logged (they carry a
// ticket), nor are tokens.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "connectors/slack/events.h"
#include "connectors/util/status.h"

namespace slack {

struct SocketModeOptions {
  int connections = 2;                              // >= 1; Slack allows up to 10 per app
  std::chrono::milliseconds ping_interval{5000};    // our pings
  std::chrono::milliseconds pong_timeout{5000};     // no pong by then: the socket is dead
  std::chrono::milliseconds hello_timeout{10000};   // connected but no hello: retry
  std::chrono::milliseconds reconnect_initial{1000};
  std::chrono::milliseconds reconnect_max{30000};   // also the wait after too_many_websockets
  std::chrono::milliseconds handshake_timeout{10000};
  std::size_t max_message_bytes = 16u << 20;
  std::string ca_file;                              // PEM bundle instead of the system store
};

// Returns a fresh single-use ws(s):// URL, normally WebApi::OpenConnection.
// kUnauthorized stops the client (a bad app token does not heal itself).
using ConnectionOpener = std::function<util::Result<std::string>()>;

// Called for every envelope (events_api, interactive, slash_commands), one at
// a time, on the client's I/O thread: persist it and return quickly (Slack
// wants the ack within 3 s). Return the ack payload JSON ("" for none, or an
// object when accepts_response_payload), or an error to withhold the ack.
using EnvelopeHandler = std::function<util::Result<std::string>(const SocketFrame& envelope)>;

struct SocketModeStats {
  int open_connections = 0;        // sockets that received hello and are not closed
  uint64_t connections_opened = 0; // hellos received, ever
  uint64_t envelopes = 0;          // envelopes handed to the handler
  uint64_t acks = 0;               // acks sent
  uint64_t handler_failures = 0;   // envelopes left un-acked
  uint64_t open_failures = 0;      // failed apps.connections.open / connects / missing hellos
};

class SocketModeClient {
 public:
  SocketModeClient(SocketModeOptions options, ConnectionOpener opener, EnvelopeHandler handler);
  ~SocketModeClient();  // Stop()
  SocketModeClient(const SocketModeClient&) = delete;
  SocketModeClient& operator=(const SocketModeClient&) = delete;

  // Starts the I/O and supervisor threads; connections open in the background.
  util::Status Start();
  // Closes every socket and joins the threads. Envelopes already being handled
  // finish (and are acked) first. Idempotent.
  void Stop();
  // Blocks until Stop() or until Slack ends it (link_disabled, a rejected app
  // token); returns OK for Stop() and the reason otherwise.
  util::Status Wait();
  // Waits until at least `n` sockets have said hello. For tests and readiness.
  bool WaitForConnections(int n, std::chrono::milliseconds timeout);

  SocketModeStats stats() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// The wait before reconnect attempt `failures` (1-based): initial * 2^(n-1),
// capped at max, scaled by a factor in [0.5, 1) from `random01` (full jitter
// would allow zero; half keeps a floor so a flapping peer is not hammered).
std::chrono::milliseconds ReconnectDelay(const SocketModeOptions& options, int failures,
                                         double random01);

}  // namespace slack

// An HTTP route a chat adapter serves (Slack's events URL, the web chat's
// API), registered by the service on its one HTTP server.
//
// Handlers are asynchronous: they answer through `respond`, which may be
// called from any thread (typically the inbox writer's, once the event is
// stored). `respond` must be called exactly once.
#pragma once

#include <functional>
#include <string>

#include "connectors/http/server.h"

namespace deskbot::chat {

using Respond = std::function<void(http::server::Response)>;
using AsyncHandler = std::function<void(const http::server::Request&, Respond)>;

struct HttpRoute {
  std::string method;   // "GET", "POST"
  std::string path;     // exact path, or a prefix when `prefix`
  bool prefix = false;
  AsyncHandler handler;
};

}  // namespace deskbot::chat

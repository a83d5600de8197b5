// The RT peer for integration tests: where it is, how to log in as its users,
// and a set of fresh tickets (unique subject prefix per run, so a long-lived
// RT with tickets from earlier runs does not disturb the checks).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "connectors/rt/client.h"

namespace rt_it {

struct Peer {
  std::string url;        // DESKBOT_RT_URL
  std::string state_dir;  // DESKBOT_RT_STATE_DIR, default /var/lib/rt5-peer

  // "" when the user's token file is not readable.
  std::string TokenFile(const std::string& user) const;
  // A client logged in as `user`: with `password` (a session), or with the
  // user's token file when `password` is empty.
  std::unique_ptr<rt::Client> As(const std::string& user, const std::string& password) const;
};

// The peer from the environment. nullopt (after a WARN) when DESKBOT_RT_URL is
// unset or RT does not answer; a test FAILURE instead when DESKBOT_REQUIRE_RT=1.
std::optional<Peer> PeerFromEnv();

// Tickets made for one test, all in queue Helpdesk with `prefix` in the subject.
struct Fixture {
  std::string prefix;
  std::int64_t plain = 0;       // carol asks, alice answers (text), resolved
  std::int64_t commented = 0;   // + alice's internal comment before the answer
  std::int64_t html = 0;        // alice answers in HTML with a signature
  std::int64_t personal = 0;    // question with a phone number and a private address;
                                // carol thanks after the answer (reopens), alice resolves again
  std::int64_t on_behalf = 0;   // root opens it for dave and answers
  std::int64_t open = 0;        // taken, never answered: must not be harvested
};

// Creates the tickets (about 25 REST2 calls).
Fixture MakeFixture(const Peer& peer, const std::string& tag);

// Deletes the fixture's tickets (as root), so the shared queue stays as the
// peer seeded it. Tickets of a test that failed half-way stay behind, which
// is harmless: every run filters on its own prefix.
void DeleteFixture(const Peer& peer, const Fixture& fixture);

}  // namespace rt_it

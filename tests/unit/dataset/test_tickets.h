// Small builders for tickets in tests.
#pragma once

#include <string>
#include <vector>

#include "bot/core/types.h"

namespace deskbot::dataset::testing {

inline Message Msg(Role role, bool is_public, std::string body, std::string content_type = "text/plain",
                   UnixSeconds at = 0) {
  Message m;
  m.role = role;
  m.is_public = is_public;
  m.body = std::move(body);
  m.content_type = std::move(content_type);
  m.created_at = at;
  m.author = role == Role::kAgent ? "agent@example.com" : "requester@example.com";
  return m;
}

inline Ticket MakeTicket(std::string id, std::string subject, std::vector<Message> messages,
                         UnixSeconds created_at = 1770000000) {
  Ticket t;
  t.source = "test";
  t.external_id = std::move(id);
  t.subject = std::move(subject);
  t.status = "resolved";
  t.resolved = true;
  t.requester_name = "Maria Lopez";
  t.requester_email = "maria.lopez@example.com";
  t.created_at = created_at;
  t.messages = std::move(messages);
  return t;
}

// A resolved ticket with one question and one answer.
inline Ticket SimpleTicket(std::string id, std::string question, std::string answer,
                           UnixSeconds created_at = 1770000000) {
  return MakeTicket(std::move(id), "", {Msg(Role::kRequester, true, std::move(question)),
                                        Msg(Role::kAgent, true, std::move(answer))},
                    created_at);
}

}  // namespace deskbot::dataset::testing

// Ticket -> pair: the multi-message rule, internal notes, drop reasons.
#include <catch2/catch.hpp>

#include "bot/dataset/extract.h"
#include "test_tickets.h"

using namespace deskbot;
using namespace deskbot::dataset;
using namespace deskbot::dataset::testing;

TEST_CASE("dataset: the ticket-format example gives subject+question and the public answer", "[extract]") {
  Ticket t = MakeTicket(
      "HD-1001", "VPN drops every 10 minutes",
      {Msg(Role::kRequester, true, "<p>Hi,</p><p>my VPN disconnects every ten minutes since Monday.</p>", "text/html"),
       Msg(Role::kAgent, false, "internal: checked the concentrator logs"),
       Msg(Role::kAgent, true,
           "Hello Maria,\n\nplease reinstall the VPN profile from the portal.\n\nBest regards,\nTom\n-- \n"
           "Tom Baker | IT Service Desk | ext. 4471")});
  ExtractResult r = ExtractPair(t);
  REQUIRE(r.pair);
  CHECK(r.pair->pair.question == "VPN drops every 10 minutes\n\nMy VPN disconnects every ten minutes since Monday.");
  CHECK(r.pair->pair.answer == "Please reinstall the VPN profile from the portal.");
  CHECK(r.pair->pair.ticket_external_id == "HD-1001");
  CHECK(r.pair->requester.name == "Maria Lopez");
}

TEST_CASE("dataset: internal notes are never the answer, even when last", "[extract]") {
  Ticket t = MakeTicket("1", "Printer", {Msg(Role::kRequester, true, "The printer on floor 2 is offline."),
                                         Msg(Role::kAgent, true, "Power-cycle the printer and wait two minutes."),
                                         Msg(Role::kAgent, false, "INTERNAL: the real cause was the switch port, do not tell")});
  ExtractResult r = ExtractPair(t);
  REQUIRE(r.pair);
  CHECK(r.pair->pair.answer == "Power-cycle the printer and wait two minutes.");
  CHECK(r.pair->pair.question.find("INTERNAL") == std::string::npos);
}

TEST_CASE("dataset: only internal agent notes: dropped as no public agent reply", "[extract]") {
  Ticket t = MakeTicket("1", "Printer", {Msg(Role::kRequester, true, "The printer is offline."),
                                         Msg(Role::kAgent, false, "fixed the switch port")});
  ExtractResult r = ExtractPair(t);
  CHECK_FALSE(r.pair);
  CHECK(r.drop_reason == kDropNoAgentReply);
}

TEST_CASE("dataset: unresolved tickets are dropped", "[extract]") {
  Ticket t = SimpleTicket("1", "question text here", "answer text here");
  t.resolved = false;
  t.status = "open";
  CHECK(ExtractPair(t).drop_reason == kDropNotResolved);
}

TEST_CASE("dataset: answer = last substantive agent reply, clarifications join the question", "[extract]") {
  Ticket t = MakeTicket(
      "2", "Outlook crashes",
      {Msg(Role::kRequester, true, "Outlook crashes when I open the calendar."),
       Msg(Role::kAgent, true, "Which Windows version are you on?"),
       Msg(Role::kRequester, true, "Windows 11, Outlook from Microsoft 365."),
       Msg(Role::kAgent, true, "Run 'outlook.exe /resetnavpane' from the Run dialog, then open the calendar again."),
       Msg(Role::kRequester, true, "Thanks, that worked!"),
       Msg(Role::kAgent, true, "Glad it works now, closing the ticket.")});
  ExtractResult r = ExtractPair(t);
  REQUIRE(r.pair);
  CHECK(r.pair->pair.answer == "Run 'outlook.exe /resetnavpane' from the Run dialog, then open the calendar again.");
  CHECK(r.pair->pair.question ==
        "Outlook crashes when I open the calendar.\n\nWindows 11, Outlook from Microsoft 365.");
}

TEST_CASE("dataset: no substantive reply: the longest public agent reply is used", "[extract]") {
  Ticket t = MakeTicket("3", "", {Msg(Role::kRequester, true, "Is the wiki down?"), Msg(Role::kAgent, true, "Yes."),
                                  Msg(Role::kAgent, true, "Back up now.")});
  ExtractResult r = ExtractPair(t);
  REQUIRE(r.pair);
  CHECK(r.pair->pair.answer == "Back up now.");
}

TEST_CASE("dataset: generic subjects are left out, a repeated subject is not doubled", "[extract]") {
  Ticket generic = MakeTicket("4", "Re: Help", {Msg(Role::kRequester, true, "My mouse is not working at all."),
                                                Msg(Role::kAgent, true, "Replace the batteries in the mouse, please.")});
  CHECK(ExtractPair(generic).pair->pair.question == "My mouse is not working at all.");
  Ticket repeated = MakeTicket("5", "Mouse broken", {Msg(Role::kRequester, true, "Mouse broken since today."),
                                                     Msg(Role::kAgent, true, "Replace the batteries in the mouse.")});
  CHECK(ExtractPair(repeated).pair->pair.question == "Mouse broken since today.");
}

TEST_CASE("dataset: no question at all is dropped", "[extract]") {
  Ticket t = MakeTicket("6", "", {Msg(Role::kAgent, true, "We replaced your laptop battery today.")});
  CHECK(ExtractPair(t).drop_reason == kDropNoQuestion);
}

TEST_CASE("dataset: closing acknowledgements", "[extract]") {
  CHECK(IsClosingAcknowledgement("Glad it works now!"));
  CHECK(IsClosingAcknowledgement("You're welcome."));
  CHECK(IsClosingAcknowledgement("Closing this ticket."));
  CHECK_FALSE(IsClosingAcknowledgement("Gladly: open Settings > Network and remove the old profile."));
  CHECK_FALSE(IsClosingAcknowledgement("Restart the VPN service."));
}

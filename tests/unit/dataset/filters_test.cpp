// Quality filters and their reasons.
#include <catch2/catch.hpp>

#include "bot/dataset/filters.h"

using namespace deskbot::dataset;

TEST_CASE("dataset: filters: empty, short, same text", "[filters]") {
  CHECK(QualityProblem("", "an answer here") == kDropEmptyQuestion);
  CHECK(QualityProblem("a question here", "   ") == kDropEmptyAnswer);
  CHECK(QualityProblem("short?", "a long enough answer") == kDropShortQuestion);
  CHECK(QualityProblem("a long enough question", "ok") == kDropShortAnswer);
  CHECK(QualityProblem("Restart the VPN", "restart  the vpn") == kDropSameText);
  CHECK(QualityProblem("How do I map drive H?", "Open Explorer and use Map network drive.").empty());
  FilterOptions strict;
  strict.min_answer_chars = 100;
  CHECK(QualityProblem("How do I map drive H?", "Open Explorer and use Map network drive.", strict) ==
        kDropShortAnswer);
}

TEST_CASE("dataset: filters: auto-replies", "[filters]") {
  CHECK(QualityProblem("Automatic reply: VPN", "Please reinstall the profile.") == kDropAutoReply);
  CHECK(QualityProblem("VPN broken again", "This is an automated message: your ticket was received.") ==
        kDropAutoReply);
  CHECK(QualityProblem("I am currently out of the office and will return on Monday.", "Noted, see you Monday.") ==
        kDropAutoReply);
  CHECK(IsAutoReply("Abwesenheitsnotiz: Ich bin bis 3.3. nicht im Büro"));
  // Questions about auto-replies are real questions.
  CHECK_FALSE(IsAutoReply("How do I set up an automatic reply in Outlook while I am out of office?"));
  CHECK_FALSE(IsAutoReply("I'm out of the office and can't connect to the VPN from the hotel."));
}

TEST_CASE("dataset: filters: closed as duplicate", "[filters]") {
  CHECK(QualityProblem("Printer offline on floor 2", "Closed as duplicate of HD-1002.") == kDropDuplicateTicket);
  CHECK(QualityProblem("Printer offline on floor 2", "This is a duplicate of ticket 4471.") == kDropDuplicateTicket);
  CHECK(QualityProblem("Printer offline on floor 2", "Merged into ticket HD-77.") == kDropDuplicateTicket);
  CHECK(QualityProblem("Git question", "The branch was merged into main yesterday, pull again.").empty());
}

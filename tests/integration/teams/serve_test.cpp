// `deskbot serve` with Teams configured from the environment (both modes),
// answering with the local model trained on deploy/sample-data by the CLI
// (harvest, dataset build, train): the wiring in serve_commands.cpp, the
// [teams] settings and the secrets, end to end against the fake Bot Framework.
#include <filesystem>
#include <fstream>

#include "tests/integration/teams/harness.h"
#include "tests/integration/webchat/process.h"

namespace deskbot::testing {
namespace {

const std::string kDeskbot = std::string(DESKBOT_BINARY_DIR) + "/bot/cli/deskbot";
const std::string kSampleTickets = std::string(DESKBOT_SOURCE_DIR) + "/deploy/sample-data/tickets.jsonl";

// Runs one CLI command to completion; its standard output in *out.
int RunCli(const TempDir& dir, const std::string& config, std::vector<std::string> args, const std::string& tag,
           std::string* out = nullptr) {
  args.insert(args.begin(), kDeskbot);
  Process p(args, {{"DESKBOT_CONFIG", config}}, dir.File(tag + ".out"), dir.File(tag + ".err"));
  REQUIRE(p.started());
  auto status = p.Wait(std::chrono::seconds(120));
  INFO(tag << ": " << p.Output() << p.Errors());
  REQUIRE(status.has_value());
  if (out) *out = p.Output();
  return *status;
}

}  // namespace

TEST_CASE("deskbot serve with Teams: bot and webhook modes answer with the sample model",
          "[integration][teams][serve]") {
  REQUIRE(std::filesystem::exists(kDeskbot));
  FakeBotFramework fake;
  REQUIRE(fake.Start().ok());
  TempDir dir;
  const std::string config = dir.File("deskbot.toml");
  std::ofstream(config) << "data_dir = \"" << dir.File("data") << "\"\n"
                        << "[[sources]]\nname = \"sample\"\ntype = \"files\"\npath = \"" << kSampleTickets
                        << "\"\n";
  REQUIRE(RunCli(dir, config, {"harvest", "--source", "sample"}, "harvest") == 0);
  REQUIRE(RunCli(dir, config, {"dataset", "build"}, "dataset") == 0);
  REQUIRE(RunCli(dir, config, {"train"}, "train") == 0);
  // What the trained model says to the question asked below, per `deskbot ask`.
  // (A paraphrase the sample model answers well above its threshold: this
  // test is about delivery through Teams, not about where the threshold sits.)
  const std::string kQuestion = "The VPN keeps disconnecting every few minutes";
  std::string asked;
  REQUIRE(RunCli(dir, config, {"ask", "--json", kQuestion}, "ask", &asked) == 0);
  const json expected = json::parse(asked, nullptr, false);
  REQUIRE(expected.is_object());
  REQUIRE_FALSE(expected.value("abstained", true));
  const std::string answer = expected.value("answer", "");
  REQUIRE(!answer.empty());

  // The password comes from a *_file, as the README recommends.
  const std::string password_file = dir.File("teams_password");
  std::ofstream(password_file) << fake.options().app_secret << "\n";
  Process serve({kDeskbot, "serve"},
                {{"DESKBOT_CONFIG", config},
                 {"DESKBOT_LISTEN", "127.0.0.1:0"},
                 {"DESKBOT_AGENTS", ""},
                 {"DESKBOT_TEAMS_AGENTS", kAgentAad},
                 {"DESKBOT_OUTBOX_BACKOFF_MS", "50"},
                 {"DESKBOT_TEAMS_APP_ID", fake.options().app_id},
                 {"DESKBOT_TEAMS_APP_PASSWORD_FILE", password_file},
                 {"DESKBOT_TEAMS_TOKEN_URL", fake.token_url()},
                 {"DESKBOT_TEAMS_OPENID_METADATA_URL", fake.metadata_url()},
                 {"DESKBOT_TEAMS_ALLOW_INSECURE_HTTP", "true"},
                 {"DESKBOT_TEAMS_AGENTS_CONVERSATION", kAgentsConversation},
                 {"DESKBOT_TEAMS_AGENTS_SERVICE_URL", fake.service_url()},
                 {"DESKBOT_TEAMS_WEBHOOK_SECRET", kWebhookSecret}},
                dir.File("serve.out"), dir.File("serve.err"));
  REQUIRE(serve.started());
  auto port = serve.WaitForOutput(R"(serving on http://127\.0\.0\.1:(\d+)/)", std::chrono::seconds(30));
  INFO("stderr: " << serve.Errors());
  REQUIRE(port.has_value());
  const std::string base = "http://127.0.0.1:" + *port;
  // The signing keys were fetched at start-up, not by the first activity.
  CHECK(fake.jwks_requests() >= 1);

  // Bot mode: a channel question, its card, an agent's edit, the reply.
  const json question = ChannelQuestion("1767326300001", kQuestion);
  const std::string conversation = question["conversation"]["id"];
  auto delivered = fake.DeliverActivity(base + "/api/messages", question.dump());
  REQUIRE(delivered.ok());
  REQUIRE(delivered->status == 200);
  REQUIRE(Eventually([&] { return !CardPosts(fake).empty(); }, std::chrono::seconds(20)));
  const RecordedActivity card = CardPosts(fake).front();
  CHECK(card.body.find(json(answer).dump()) != std::string::npos);  // as JSON text in the card
  const std::int64_t sid = SuggestionIdOf(card);
  REQUIRE(sid > 0);
  const std::string edited = "Reinstall the VPN client from https://vpn.example.com - then sign in again.";
  auto invoke = fake.DeliverActivity(
      base + "/api/messages",
      ExecuteInvoke("f:serve-edit", "edit", sid, card.new_id, kAgentAad, kAgentName, {{"editedText", edited}}).dump());
  REQUIRE(invoke.ok());
  CHECK(invoke->status == 200);
  CHECK(invoke->body.find("Edit recorded") != std::string::npos);
  REQUIRE(Eventually([&] { return !RepliesTo(fake, conversation, "1767326300001").empty(); },
                     std::chrono::seconds(20)));
  CHECK(BodyOf(RepliesTo(fake, conversation, "1767326300001").front()).value("text", "") == edited);
  // A forged token is refused by the real binary too.
  auto forged = fake.DeliverActivity(base + "/api/messages",
                                     ChannelQuestion("1767326300002", "hello").dump(), BadToken::kForgedSignature);
  REQUIRE(forged.ok());
  CHECK(forged->status == 401);

  // Webhook mode: the answer in the response, from the trained model.
  Api api(base);
  const std::string body = ChannelQuestion("1767326300003", kQuestion).dump();
  auto signature = teams::SignOutgoingWebhook(body, kWebhookSecret);
  REQUIRE(signature.ok());
  Reply r = api.Send("POST", "/teams/webhook", body, {{"Authorization", *signature}});
  REQUIRE(r.status == 200);
  const std::string text = r.body.value("text", "");
  CHECK(text.find("Suggested answer") != std::string::npos);
  CHECK(text.find(answer) != std::string::npos);
  CHECK(text.find("sample #HD-") != std::string::npos);
  CHECK(api.Send("POST", "/teams/webhook", body, {{"Authorization", "HMAC AAAA"}}).status == 401);

  REQUIRE(serve.Stop(SIGTERM) == std::optional<int>(0));
  // Secrets never reach the logs.
  const std::string logs = serve.Output() + serve.Errors();
  CHECK(logs.find(fake.options().app_secret) == std::string::npos);
  CHECK(logs.find(kWebhookSecret) == std::string::npos);

  // What was stored: the edited pair from Teams.
  auto store = SqliteStore::Open(dir.File("data") + "/deskbot.db");
  REQUIRE(store.ok());
  bool edited_pair = false;
  REQUIRE((*store)->ForEachPair([&](const Pair& p) {
                     if (p.origin == PairOrigin::kEdited && p.source == "teams") edited_pair = true;
                     return true;
                   }).ok());
  CHECK(edited_pair);
}

}  // namespace deskbot::testing

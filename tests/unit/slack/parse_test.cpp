// Signing, parsing and Block Kit: pure functions, checked against the real
// payloads copied into tests/data/slack (see its README for provenance).
#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "connectors/slack/blocks.h"
#include "connectors/slack/events.h"
#include "connectors/slack/signing.h"

using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::string DataPath(const std::string& rel) { return std::string(DESKBOT_TEST_DATA_DIR) + "/slack/" + rel; }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string Fixture(const std::string& rel) { return ReadFile(DataPath(rel)); }

std::string UrlEncode(const std::string& s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') out.push_back(c);
    else if (c == ' ') out.push_back('+');
    else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------- signing

TEST_CASE("slack signature: the documented v0 test vector verifies") {
  json v = json::parse(Fixture("signing/v0_test_vector.json"));
  std::string secret = v["signing_secret"], ts = v["x_slack_request_timestamp"];
  std::string body = v["raw_body"], sig = v["x_slack_signature"];
  int64_t now = v["clock_now_for_test"];

  CHECK(slack::ComputeSignature(secret, ts, body) == sig);
  slack::SignatureVerifier verifier(secret, [now] { return now; });
  CHECK(verifier.Verify(ts, sig, body).ok());
  // Within the window on both sides.
  slack::SignatureVerifier later(secret, [now] { return now + 299; });
  CHECK(later.Verify(ts, sig, body).ok());
  slack::SignatureVerifier earlier(secret, [now] { return now - 300; });
  CHECK(earlier.Verify(ts, sig, body).ok());
}

TEST_CASE("slack signature: forged, stale and incomplete requests are refused") {
  json v = json::parse(Fixture("signing/v0_test_vector.json"));
  std::string secret = v["signing_secret"], ts = v["x_slack_request_timestamp"];
  std::string body = v["raw_body"], sig = v["x_slack_signature"];
  int64_t now = v["clock_now_for_test"];
  slack::SignatureVerifier verifier(secret, [now] { return now; });
  using Code = util::Status::Code;

  // A single changed body byte, a changed signature, another secret.
  std::string tampered = body;
  tampered[tampered.size() - 1] ^= 1;
  CHECK(verifier.Verify(ts, sig, tampered).code() == Code::kUnauthorized);
  std::string bad_sig = sig;
  bad_sig[10] = bad_sig[10] == 'a' ? 'b' : 'a';
  CHECK(verifier.Verify(ts, bad_sig, body).code() == Code::kUnauthorized);
  CHECK(verifier.Verify(ts, sig.substr(0, 20), body).code() == Code::kUnauthorized);
  CHECK(verifier.Verify(ts, "v1=" + sig.substr(3), body).code() == Code::kUnauthorized);
  slack::SignatureVerifier other("another-secret", [now] { return now; });
  CHECK(other.Verify(ts, sig, body).code() == Code::kUnauthorized);
  // A re-signed body with a new timestamp must match that timestamp.
  CHECK(verifier.Verify(std::to_string(now + 1), sig, body).code() == Code::kUnauthorized);

  // Stale or from the future: replay window.
  slack::SignatureVerifier stale(secret, [now] { return now + 301; });
  auto st = stale.Verify(ts, sig, body);
  CHECK(st.code() == Code::kUnauthorized);
  CHECK(st.message().find("window") != std::string::npos);
  slack::SignatureVerifier future(secret, [now] { return now - 301; });
  CHECK_FALSE(future.Verify(ts, sig, body).ok());
  // The real clock: the 2018 vector is long stale.
  slack::SignatureVerifier real(secret);
  CHECK_FALSE(real.Verify(ts, sig, body).ok());

  // Missing or junk headers.
  CHECK(verifier.Verify("", sig, body).message().find("Timestamp") != std::string::npos);
  CHECK(verifier.Verify(ts, "", body).message().find("Signature") != std::string::npos);
  CHECK_FALSE(verifier.Verify("15314x0618", sig, body).ok());
  CHECK_FALSE(verifier.Verify(" 1531420618", sig, body).ok());

  // The secret never shows up in an error.
  for (auto s : {verifier.Verify(ts, bad_sig, body), stale.Verify(ts, sig, body)}) {
    CHECK(s.message().find(secret) == std::string::npos);
    CHECK(s.message().find(sig.substr(3)) == std::string::npos);
  }
}

TEST_CASE("slack signature: one verifier checks many requests at once and in turn") {
  // The verifier reuses keyed HMAC contexts across requests and threads: a
  // failed check must leave nothing behind for the next one.
  const std::string secret = "8f742231b10e8888abcd99yyyzzz85a5";
  const int64_t now = 1700000000;
  const std::string ts = std::to_string(now);
  slack::SignatureVerifier verifier(secret, [now] { return now; });
  std::atomic<int> right{0}, refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const std::string body = "{\"n\":" + std::to_string(t * 1000 + i) + "}";
        const std::string sig = slack::ComputeSignature(secret, ts, body);
        if (verifier.Verify(ts, sig, body).ok()) ++right;
        if (!verifier.Verify(ts, sig, body + " ").ok()) ++refused;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(right == 800);
  CHECK(refused == 800);
}

// ---------------------------------------------------------------- events

TEST_CASE("slack events: app_mention envelope") {
  auto env = slack::ParseEventEnvelope(Fixture("events/event_callback_app_mention.json"));
  REQUIRE(env.ok());
  CHECK(env->type == slack::EventEnvelope::Type::kEventCallback);
  CHECK(env->team_id == "T00FAKE00AA");
  CHECK(env->api_app_id == "A00FAKEAPP01");
  CHECK(env->event_id.empty());  // absent in this recording
  CHECK(env->bot_user_id() == "U00FAKEBOT01");
  const auto& e = env->event;
  CHECK(e.type == "app_mention");
  CHECK(e.user == "U00FAKEUSER1");
  CHECK(e.ts == "1767326125.870439");
  CHECK(e.channel == "C00FAKECHAN1");
  CHECK(e.reply_thread_ts() == "1767326125.870439");
  CHECK(slack::StripMentions(e.text, env->bot_user_id()) == "Test");
  CHECK_FALSE(env->IsFromBot());
  CHECK(e.raw_json.empty());  // a modelled type: everything is in the fields
}

TEST_CASE("slack events: DM message with event_id, event_time, channel_type") {
  auto env = slack::ParseEventEnvelope(Fixture("events/event_callback_message_im.json"));
  REQUIRE(env.ok());
  CHECK(env->event_id == "Ev0AFKSS1NKD");
  CHECK(env->event_time == 1771442483);
  CHECK(env->bot_user_id() == "U0ADXR1N57A");
  CHECK(env->authorizations[0].is_bot);
  CHECK(env->event.type == "message");
  CHECK(env->event.subtype.empty());
  CHECK(env->event.channel_type == "im");
  CHECK(env->event.text == "hello hello");
  CHECK(env->event.client_msg_id == "7f846ada-9111-41d4-983b-e5eda731bc0c");
  CHECK_FALSE(env->IsFromBot());
}

TEST_CASE("slack events: thread follow-up keeps thread_ts as a string") {
  auto env = slack::ParseEventEnvelope(Fixture("events/event_callback_message_thread_followup.json"));
  REQUIRE(env.ok());
  CHECK(env->event.thread_ts == "1767224888.280449");
  CHECK(env->event.reply_thread_ts() == "1767224888.280449");
  CHECK(env->event.parent_user_id == "U00FAKEUSER1");
}

TEST_CASE("slack events: other event types parse with their basics") {
  auto env = slack::ParseEventEnvelope(Fixture("events/event_callback_reaction_added.json"));
  REQUIRE(env.ok());
  CHECK(env->event.type == "reaction_added");
  CHECK(json::parse(env->event.raw_json)["reaction"] == "+1");
}

TEST_CASE("slack events: bot messages, own messages and subtypes") {
  json base = json::parse(Fixture("events/event_callback_message_im.json"));
  SECTION("bot_id set") {
    base["event"]["bot_id"] = "B123";
    base["event"]["subtype"] = "bot_message";
    auto env = slack::ParseEventEnvelope(base.dump());
    REQUIRE(env.ok());
    CHECK(env->event.bot_id == "B123");
    CHECK(env->event.subtype == "bot_message");
    CHECK(env->IsFromBot());
  }
  SECTION("posted by our own bot user") {
    base["event"]["user"] = "U0ADXR1N57A";
    auto env = slack::ParseEventEnvelope(base.dump());
    REQUIRE(env.ok());
    CHECK(env->IsFromBot());
  }
  SECTION("message_changed carries the new text in message") {
    base["event"]["subtype"] = "message_changed";
    base["event"]["message"] = {{"user", "U9"}, {"text", "new text"}, {"ts", "1.2"}, {"thread_ts", "1.0"}};
    base["event"]["previous_message"] = {{"text", "old text"}};
    auto env = slack::ParseEventEnvelope(base.dump());
    REQUIRE(env.ok());
    CHECK(env->event.edited_text == "new text");
    CHECK(env->event.edited_user == "U9");
    CHECK(env->event.previous_text == "old text");
    CHECK(env->event.thread_ts == "1.0");
  }
  SECTION("message_deleted") {
    base["event"]["subtype"] = "message_deleted";
    base["event"]["deleted_ts"] = "1.5";
    auto env = slack::ParseEventEnvelope(base.dump());
    REQUIRE(env.ok());
    CHECK(env->event.deleted_ts == "1.5");
  }
}

TEST_CASE("slack events: url_verification and app_rate_limited") {
  auto uv = slack::ParseEventEnvelope(
      R"({"token":"x","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"})");
  REQUIRE(uv.ok());
  CHECK(uv->type == slack::EventEnvelope::Type::kUrlVerification);
  CHECK(uv->challenge == "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P");
  CHECK_FALSE(slack::ParseEventEnvelope(R"({"type":"url_verification"})").ok());

  auto rl = slack::ParseEventEnvelope(
      R"({"token":"x","type":"app_rate_limited","team_id":"T123","minute_rate_limited":1518467820,"api_app_id":"A1"})");
  REQUIRE(rl.ok());
  CHECK(rl->type == slack::EventEnvelope::Type::kAppRateLimited);
  CHECK(rl->minute_rate_limited == 1518467820);
  CHECK(rl->team_id == "T123");
}

TEST_CASE("slack events: malformed input gives clear errors") {
  using Code = util::Status::Code;
  for (const char* bad : {"", "{", "[1,2]", "\"str\"", R"({"type":"event_callback"})",
                          R"({"type":"event_callback","event":{"user":"U1"}})", R"({"no_type":1})",
                          R"({"type":"event_callback","event":5})", R"({"type":"x"} trailing)",
                          "{\"type\":\"x\",\"t\":\"\xff\xfe\"}", R"({"type":"x","a":[1,2})",
                          R"({"type":"x","a":tru})"}) {
    INFO(bad);
    auto r = slack::ParseEventEnvelope(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kInvalidArgument);
    CHECK(r.status().message().rfind("slack", 0) == 0);
  }
  // Wrong-typed optional fields are tolerated, not fatal.
  auto odd = slack::ParseEventEnvelope(
      R"({"type":"event_callback","event_time":"x","event":{"type":"message","text":5,"ts":null}})");
  REQUIRE(odd.ok());
  CHECK(odd->event.text.empty());
  CHECK(odd->event_time == 0);
  auto loose = slack::ParseEventEnvelope(
      R"({"type":"event_callback","event_time":1.7e9,"is_ext_shared_channel":"true",)"
      R"("authorizations":[5,{"user_id":"U0BOT"}],"event":{"type":"message","message":"x"}})");
  REQUIRE(loose.ok());
  CHECK(loose->event_time == 1700000000);
  CHECK(loose->is_ext_shared_channel);
  REQUIRE(loose->authorizations.size() == 2);
  CHECK(loose->authorizations[0].user_id.empty());
  CHECK(loose->authorizations[1].user_id == "U0BOT");
  CHECK(loose->event.edited_text.empty());
}

TEST_CASE("slack mentions are stripped") {
  CHECK(slack::StripMentions("<@U00FAKEBOT01> Hey") == "Hey");
  CHECK(slack::StripMentions("  <@U1|bot>   how do I reset?  ") == "how do I reset?");
  CHECK(slack::StripMentions("ask <@U1> about <@U2>", "U1") == "ask about <@U2>");
  CHECK(slack::StripMentions("ask <@U1> about <@U2>") == "ask about");
  CHECK(slack::StripMentions("<@U111>") == "");
  CHECK(slack::StripMentions("a <@broken") == "a <@broken");
  CHECK(slack::StripMentions("see <#C123> and <!here>") == "see <#C123> and <!here>");
}

// ---------------------------------------------------------------- interactivity

TEST_CASE("slack interactivity: block_actions button from a form body") {
  std::string payload = Fixture("interactivity/block_actions_button.json");
  auto in = slack::ParseInteractionForm("payload=" + UrlEncode(payload));
  REQUIRE(in.ok());
  CHECK(in->type == slack::Interaction::Type::kBlockActions);
  CHECK(in->user.id == "U00FAKEUSER1");
  CHECK(in->user.username == "testuser");
  CHECK(in->team_id == "T00FAKE00AA");
  CHECK(in->trigger_id == "10215325802133.3901254001572.2e2548aa918b35fd85829545c2d4ae2b");
  CHECK(in->response_url == "https://hooks.slack.com/actions/T00FAKE00AA/10231680918177/hMWwGmzsWEYbB4BjtNump6kO");
  CHECK(in->container.type == "message");
  CHECK(in->container.message_ts == "1767326126.896109");
  CHECK(in->container.thread_ts == "1767326125.870439");
  CHECK_FALSE(in->container.is_ephemeral);
  CHECK(in->channel_id == "C00FAKECHAN1");
  CHECK(in->channel_name == "chat-sdk");
  CHECK(in->message_ts == "1767326126.896109");
  CHECK(in->message_thread_ts == "1767326125.870439");
  REQUIRE(in->actions.size() == 1);
  CHECK(in->actions[0].type == "button");
  CHECK(in->actions[0].action_id == "info");
  CHECK(in->actions[0].block_id == "P0z+f");  // '+' inside JSON survives form decoding
  CHECK(in->actions[0].text == "Show Info");
  CHECK(in->actions[0].action_ts == "1767326130.289415");
}

TEST_CASE("slack interactivity: button value and static select") {
  json p = json::parse(Fixture("interactivity/block_actions_button.json"));
  p["actions"][0]["value"] = "sugg 981 & <x>";
  auto btn = slack::ParseInteraction(p.dump());
  REQUIRE(btn.ok());
  CHECK(btn->actions[0].value == "sugg 981 & <x>");

  auto sel = slack::ParseInteraction(Fixture("interactivity/block_actions_static_select.json"));
  REQUIRE(sel.ok());
  CHECK(sel->actions[0].type == "static_select");
  CHECK(sel->actions[0].selected_value == "greet");
}

TEST_CASE("slack interactivity: view_submission state values and private_metadata") {
  std::string payload = Fixture("interactivity/view_submission.json");
  auto in = slack::ParseInteractionForm("payload=" + UrlEncode(payload));
  REQUIRE(in.ok());
  CHECK(in->type == slack::Interaction::Type::kViewSubmission);
  CHECK(in->user.id == "U00FAKEUSER2");
  CHECK(in->view.id == "V0AF71PAUQK");
  CHECK(in->view.callback_id == "feedback_form");
  CHECK(in->view.private_metadata == R"({"c":"40949e29-3f28-4d70-964a-f334eb40c5d7"})");
  CHECK(in->view.hash == "1771309947.RiIIx55y");
  CHECK(in->view.state.at("message").at("message").value == "Hello!");
  CHECK(in->view.state.at("message").at("message").type == "plain_text_input");
  CHECK(in->view.state.at("category").at("category").selected_value == "feature");
  CHECK(in->view.state.at("email").at("email").value == "user@example.com");
}

TEST_CASE("slack interactivity: malformed bodies give clear errors") {
  CHECK_FALSE(slack::ParseInteractionForm("").ok());
  CHECK(slack::ParseInteractionForm("foo=bar").status().message().find("payload") != std::string::npos);
  CHECK_FALSE(slack::ParseInteractionForm("payload=%7Bnot-json").ok());
  CHECK_FALSE(slack::ParseInteractionForm("payload=%ZZ").ok());
  CHECK_FALSE(slack::ParseInteractionForm("payload=%7").ok());
  CHECK_FALSE(slack::ParseInteraction(R"({"type":"block_actions","user":{"id":"U1"}})").ok());
  CHECK_FALSE(slack::ParseInteraction(R"({"type":"view_submission","user":{"id":"U1"}})").ok());
  CHECK_FALSE(slack::ParseInteraction(R"({"type":"block_actions","actions":[{}]})").ok());
}

// ---------------------------------------------------------------- slash commands

TEST_CASE("slack slash command from the wire form (the signing vector's body)") {
  json v = json::parse(Fixture("signing/v0_test_vector.json"));
  auto c = slack::ParseSlashCommandForm(v["raw_body"].get<std::string>());
  REQUIRE(c.ok());
  CHECK(c->command == "/webhook-collect");
  CHECK(c->text.empty());
  CHECK(c->user_id == "U2CERLKJA");
  CHECK(c->channel_id == "G8PSS9T3V");
  CHECK(c->response_url == "https://hooks.slack.com/commands/T1DC2JH3J/397700885554/96rGlfmibIGlgcZRskXaIFfN");
}

TEST_CASE("slack slash command with arguments, form-encoded as Slack sends it") {
  json fields = json::parse(Fixture("slash_commands/slash_command_parsed.json"));
  std::string form;
  for (auto& [k, v] : fields.items()) form += (form.empty() ? "" : "&") + k + "=" + UrlEncode(v.get<std::string>());
  auto c = slack::ParseSlashCommandForm(form);
  REQUIRE(c.ok());
  CHECK(c->command == "/test-feedback");
  CHECK(c->text == "some arguments here");
  CHECK(c->user_name == "testuser");
  CHECK(c->team_domain == "acme-test-workspace");
  CHECK(c->trigger_id == "10520020890661.10229338706656.2e2188a074adf3bf9f8456b30180f405");
  CHECK_FALSE(c->is_enterprise_install);
  // The same fields as JSON (Socket Mode).
  auto j = slack::ParseSlashCommand(fields.dump());
  REQUIRE(j.ok());
  CHECK(j->text == "some arguments here");
  CHECK_FALSE(slack::ParseSlashCommandForm("text=hi").ok());
  CHECK_FALSE(slack::ParseSlashCommand("{oops").ok());
}

// ---------------------------------------------------------------- socket mode

TEST_CASE("slack socket mode frames: hello, disconnect, envelopes") {
  auto hello = slack::ParseSocketFrame(Fixture("socket_mode/hello.json"));
  REQUIRE(hello.ok());
  CHECK(hello->type == slack::SocketFrame::Type::kHello);
  CHECK(hello->num_connections == 2);
  CHECK(hello->approximate_connection_time == 18060);
  CHECK(hello->app_id == "A111");

  auto bye = slack::ParseSocketFrame(Fixture("socket_mode/disconnect_too_many_websockets.json"));
  REQUIRE(bye.ok());
  CHECK(bye->type == slack::SocketFrame::Type::kDisconnect);
  CHECK(bye->reason == "too_many_websockets");

  auto ev = slack::ParseSocketFrame(Fixture("socket_mode/envelope_events_api_app_mention.json"));
  REQUIRE(ev.ok());
  CHECK(ev->type == slack::SocketFrame::Type::kEnvelope);
  CHECK(ev->type_name == "events_api");
  CHECK(ev->envelope_id == "cda4159a-72a5-4744-aba3-4d66eb52682b");
  CHECK_FALSE(ev->accepts_response_payload);
  auto inner = slack::ParseEventEnvelope(ev->payload_json);
  REQUIRE(inner.ok());
  CHECK(inner->event_id == "Ev111");
  CHECK(inner->event.type == "app_mention");

  auto retry = slack::ParseSocketFrame(Fixture("socket_mode/envelope_events_api_retry_timeout.json"));
  REQUIRE(retry.ok());
  CHECK(retry->retry_attempt == 1);
  CHECK(retry->retry_reason == "timeout");

  auto slash = slack::ParseSocketFrame(Fixture("socket_mode/envelope_slash_commands.json"));
  REQUIRE(slash.ok());
  CHECK(slash->type_name == "slash_commands");
  CHECK(slash->accepts_response_payload);
  auto cmd = slack::ParseSlashCommand(slash->payload_json);
  REQUIRE(cmd.ok());
  CHECK(cmd->command == "/hello-socket-mode");

  auto big = slack::ParseSocketFrame(Fixture("socket_mode/envelope_interactive_block_actions_large.json"));
  REQUIRE(big.ok());
  auto act = slack::ParseInteraction(big->payload_json);
  REQUIRE(act.ok());
  CHECK(act->type == slack::Interaction::Type::kBlockActions);

  auto sc = slack::ParseSocketFrame(Fixture("socket_mode/envelope_interactive_shortcut.json"));
  REQUIRE(sc.ok());
  auto shortcut = slack::ParseInteraction(sc->payload_json);
  REQUIRE(shortcut.ok());
  CHECK(shortcut->type == slack::Interaction::Type::kShortcut);
  CHECK(shortcut->callback_id == "do-something");

  CHECK_FALSE(slack::ParseSocketFrame("nope").ok());
  CHECK_FALSE(slack::ParseSocketFrame(R"({"envelope_id":"x","type":"events_api"})").ok());
}

TEST_CASE("slack socket mode ack frames") {
  auto plain = slack::BuildSocketAck("abc-1");
  REQUIRE(plain.ok());
  CHECK(json::parse(*plain) == json{{"envelope_id", "abc-1"}});
  auto with = slack::BuildSocketAck("abc-2", R"({"text":"hi","response_type":"ephemeral"})");
  REQUIRE(with.ok());
  CHECK(json::parse(*with)["payload"]["text"] == "hi");
  CHECK_FALSE(slack::BuildSocketAck("x", "[1]").ok());
}

// Every payload file in the data folder parses with the parser for its kind.
TEST_CASE("slack: every fixture file parses") {
  int parsed = 0;
  auto check_payload = [&](const json& p, const std::string& where) {
    INFO(where);
    if (!p.is_object()) return;
    std::string text = p.dump();
    std::string type = p.value("type", "");
    if (p.contains("envelope_id") || type == "hello" || type == "disconnect") {
      CHECK(slack::ParseSocketFrame(text).ok());
    } else if (type == "event_callback" || type == "url_verification") {
      CHECK(slack::ParseEventEnvelope(text).ok());
    } else if (type == "block_actions" || type == "view_submission" || type == "shortcut") {
      CHECK(slack::ParseInteraction(text).ok());
    } else if (p.contains("command")) {
      CHECK(slack::ParseSlashCommand(text).ok());
    } else {
      return;
    }
    ++parsed;
  };
  for (const auto& entry : fs::recursive_directory_iterator(DataPath(""))) {
    if (entry.path().extension() != ".json") continue;
    std::string rel = fs::relative(entry.path(), DataPath("")).string();
    json j = json::parse(ReadFile(entry.path().string()), nullptr, false);
    REQUIRE_FALSE(j.is_discarded());
    if (rel.rfind("vercel-chat/", 0) == 0) {
      for (auto& [key, value] : j.items()) {
        if (value.is_object()) check_payload(value, rel + ":" + key);
      }
    } else {
      check_payload(j, rel);
    }
  }
  CHECK(parsed >= 40);
}

// ---------------------------------------------------------------- blocks

TEST_CASE("slack blocks: suggestion message shape and escaping") {
  slack::Suggestion s;
  s.id = "981";
  s.answer = "Restart the VPN client. Use <b>&</b> <!channel> <@U1>";
  s.confidence = 0.823;
  s.sources = {{"#42", "https://desk/t/42?a=1&b=2"}, {"#43 | x", ""}};
  auto m = slack::SuggestionMessage(s);
  REQUIRE(m.ok());
  CHECK(slack::ValidateBlocks(m->blocks_json).ok());
  json b = json::parse(m->blocks_json);
  REQUIRE(b.size() == 3);
  CHECK(b[0]["type"] == "section");
  CHECK(b[0]["text"]["type"] == "mrkdwn");
  CHECK(b[0]["text"]["text"] ==
        "*Suggested answer*\nRestart the VPN client. Use &lt;b&gt;&amp;&lt;/b&gt; &lt;!channel&gt; &lt;@U1&gt;");
  CHECK(b[1]["type"] == "context");
  std::string ctx = b[1]["elements"][0]["text"];
  CHECK(ctx.find("<https://desk/t/42?a=1&amp;b=2|#42>") != std::string::npos);
  CHECK(ctx.find("#43 / x") != std::string::npos);
  CHECK(ctx.find("confidence 0.82") != std::string::npos);
  CHECK(b[2]["type"] == "actions");
  auto& el = b[2]["elements"];
  REQUIRE(el.size() == 3);
  CHECK(el[0]["action_id"] == "approve");
  CHECK(el[0]["style"] == "primary");
  CHECK(el[1]["action_id"] == "edit");
  CHECK(el[2]["action_id"] == "reject");
  CHECK(el[2]["style"] == "danger");
  for (auto& e : el) CHECK(e["value"] == "981");
  CHECK(m->text.find("confidence 0.82") != std::string::npos);
  CHECK(m->text.find("<!channel>") == std::string::npos);  // fallback text escaped too
  CHECK(m->text.find("&lt;!channel&gt;") != std::string::npos);

  s.id = "";
  CHECK_FALSE(slack::SuggestionMessage(s).ok());
  s.id = std::string(2001, 'x');
  CHECK_FALSE(slack::SuggestionMessage(s).ok());
}

TEST_CASE("slack blocks: long answers split into sections within limits, then truncate") {
  slack::Suggestion s;
  s.id = "7";
  std::string para;
  while (para.size() < 2500) para += "word & more words ";
  std::string answer;
  for (int i = 0; i < 4; ++i) answer += para + "\n\n";
  s.answer = answer;
  auto m = slack::SuggestionMessage(s);
  REQUIRE(m.ok());
  REQUIRE(slack::ValidateBlocks(m->blocks_json).ok());
  json b = json::parse(m->blocks_json);
  size_t sections = 0;
  std::string joined;
  for (auto& blk : b) {
    if (blk["type"] != "section") continue;
    ++sections;
    std::string t = blk["text"]["text"];
    CHECK(slack::CountChars(t) <= slack::kMaxSectionText);
    CHECK(t.find("&am\n") == std::string::npos);
    joined += t;
  }
  CHECK(sections > 1);
  CHECK(joined.find("truncated") == std::string::npos);  // it all fit in 5 sections

  s.answer = std::string(40000, 'y');  // no break at all: hard cut + marker
  m = slack::SuggestionMessage(s);
  REQUIRE(m.ok());
  b = json::parse(m->blocks_json);
  CHECK(b.size() == slack::kMaxAnswerSections + 2);
  CHECK(b[slack::kMaxAnswerSections - 1]["text"]["text"].get<std::string>().find("truncated") !=
        std::string::npos);
  CHECK(slack::ValidateBlocks(m->blocks_json).ok());
}

TEST_CASE("slack blocks: truncation keeps UTF-8 and entities whole") {
  CHECK(slack::TruncateText("short", 10) == "short");
  std::string t = slack::TruncateText("one two three four five six", 12);
  CHECK(slack::CountChars(t) <= 12);
  CHECK(t == "one two\xE2\x80\xA6");
  std::string u = slack::TruncateText("\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9", 4);  // 6 x é
  CHECK(slack::CountChars(u) == 4);
  CHECK(u.rfind("\xC3\xA9\xC3\xA9\xC3\xA9", 0) == 0);
  std::string e = slack::TruncateText("aaaaaaaaaa&amp;bbbb", 14, "~");
  CHECK(e == "aaaaaaaaaa~");
}

TEST_CASE("slack blocks: decided message has no buttons and names who decided") {
  slack::Suggestion s;
  s.id = "981";
  s.answer = "Restart the VPN client.";
  s.sources = {{"#42", "https://desk/t/42"}};
  slack::Decision d{"Approved", "U1", 1767326125, "", ""};
  auto m = slack::DecidedMessage(s, d);
  REQUIRE(m.ok());
  CHECK(slack::ValidateBlocks(m->blocks_json).ok());
  json b = json::parse(m->blocks_json);
  for (auto& blk : b) CHECK(blk["type"] != "actions");
  std::string line = b.back()["elements"][0]["text"];
  CHECK(line.rfind("Approved by <@U1> at <!date^1767326125^", 0) == 0);
  CHECK(line.find("2026-01-02 03:55 UTC") != std::string::npos);

  slack::Decision edit{"Edited", "U2", 1767326125, "Reboot <now>", "typo fixed"};
  auto e = slack::DecidedMessage(s, edit);
  REQUIRE(e.ok());
  json eb = json::parse(e->blocks_json);
  CHECK(eb[0]["text"]["text"].get<std::string>().find("Reboot &lt;now&gt;") != std::string::npos);
  CHECK(eb.back()["elements"][1]["text"] == "typo fixed");

  slack::Decision bad{"Approved", "<!channel>", 1, "", ""};
  CHECK_FALSE(slack::DecidedMessage(s, bad).ok());
}

TEST_CASE("slack blocks: edit and reject modals") {
  auto edit = slack::EditModal("981", "Restart <the> VPN");
  REQUIRE(edit.ok());
  json v = json::parse(*edit);
  CHECK(v["type"] == "modal");
  CHECK(v["callback_id"] == slack::kEditModalCallback);
  CHECK(v["private_metadata"] == "981");
  CHECK(v["blocks"].size() == 1);
  auto& input = v["blocks"][0];
  CHECK(input["type"] == "input");
  CHECK(input["block_id"] == slack::kEditInputBlock);
  CHECK(input["element"]["type"] == "plain_text_input");
  CHECK(input["element"]["action_id"] == slack::kEditInputAction);
  CHECK(input["element"]["multiline"] == true);
  CHECK(input["element"]["initial_value"] == "Restart <the> VPN");  // plain_text: not escaped
  CHECK(slack::CountChars(v["title"]["text"].get<std::string>()) <= 24);

  auto long_edit = slack::EditModal("1", std::string(5000, 'z'));
  REQUIRE(long_edit.ok());
  CHECK(slack::CountChars(json::parse(*long_edit)["blocks"][0]["element"]["initial_value"].get<std::string>()) <=
        slack::kMaxTextInput);

  auto rej = slack::RejectReasonModal("981");
  REQUIRE(rej.ok());
  json r = json::parse(*rej);
  CHECK(r["callback_id"] == slack::kRejectModalCallback);
  CHECK(r["private_metadata"] == "981");
  CHECK(r["blocks"][0]["block_id"] == slack::kRejectInputBlock);
  CHECK(r["blocks"][0]["element"]["action_id"] == slack::kRejectInputAction);
  CHECK_FALSE(slack::EditModal("", "x").ok());
  CHECK_FALSE(slack::RejectReasonModal(std::string(3001, 'i')).ok());
}

TEST_CASE("slack blocks: the validator refuses what Slack refuses") {
  CHECK_FALSE(slack::ValidateBlocks("{}").ok());
  CHECK_FALSE(slack::ValidateBlocks("[]").ok());
  CHECK_FALSE(slack::ValidateBlocks(R"([{"type":"bogus"}])").ok());
  CHECK_FALSE(slack::ValidateBlocks(R"([{"type":"section"}])").ok());
  CHECK_FALSE(slack::ValidateBlocks(R"([{"type":"section","text":{"type":"mrkdwn","text":""}}])").ok());
  json too_long = json::array({{{"type", "section"}, {"text", {{"type", "mrkdwn"}, {"text", std::string(3001, 'a')}}}}});
  CHECK_FALSE(slack::ValidateBlocks(too_long.dump()).ok());
  json many = json::array();
  for (int i = 0; i < 51; ++i) many.push_back({{"type", "divider"}});
  CHECK_FALSE(slack::ValidateBlocks(many.dump()).ok());
  CHECK_FALSE(slack::ValidateBlocks(
                  R"([{"type":"actions","elements":[{"type":"button","action_id":"a","text":{"type":"plain_text","text":"x"}},{"type":"button","action_id":"a","text":{"type":"plain_text","text":"y"}}]}])")
                  .ok());
  CHECK(slack::ValidateBlocks(R"([{"type":"divider"}])").ok());
}

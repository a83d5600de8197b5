// Slack's own SDK doing what deskbot's /slack/events does: Bolt's HTTP
// receiver verifying each request's signature and acking it. Dummy token, no
// token verification (no network), a no-op handler.
const { App, LogLevel } = require('@slack/bolt');
const port = Number(process.argv[2]);
const app = new App({
  token: 'xoxb-bench-dummy',
  signingSecret: process.env.SLACK_SIGNING_SECRET,
  tokenVerificationEnabled: false,
  botId: 'B0BOT',
  botUserId: 'U0BOT',
  logLevel: LogLevel.ERROR,
});
app.event('app_mention', async () => {});
app.message(async () => {});
app.start(port).then(() => console.log(`bolt listening on ${port}`));

// Standalone WebSocket echo media server (WS_ECHO_HOST, WS_ECHO_PORT). Client mode: point a
// websocket_client at ws://<host>:<port>/media. Server mode: POST /connect {"url": ...} on the
// same port with each call's ws://<asterisk>:8088/media/<connection id>.

import { readInt } from './env-int.js';
import { WebSocketEcho } from './websocket-echo.js';

async function main(): Promise<void> {
  const problems: string[] = [];
  const port = readInt(process.env, 'WS_ECHO_PORT', 8787, problems, 0, 65535);
  if (problems.length > 0) {
    for (const p of problems) process.stderr.write(`config: ${p}\n`);
    process.exit(1);
  }
  const echo = await WebSocketEcho.start({ host: process.env.WS_ECHO_HOST || '0.0.0.0', port });
  const shutdown = async () => {
    await echo.stop();
    process.stdout.write(`${JSON.stringify({ status: 'stopped', sessions: echo.all.length })}\n`);
    process.exit(0);
  };
  // Handlers first: whoever reads the status line may signal at once.
  process.once('SIGTERM', () => void shutdown());
  process.once('SIGINT', () => void shutdown());
  process.stdout.write(`${JSON.stringify({ status: 'listening', host: echo.host, port: echo.port, url: echo.url })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`websocket-echo failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});

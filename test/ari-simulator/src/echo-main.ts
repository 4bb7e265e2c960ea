// Standalone AudioSocket echo server (AUDIOSOCKET_HOST, AUDIOSOCKET_PORT, AUDIOSOCKET_FRAME_MS).

import { AudioSocketEcho } from './audiosocket-echo.js';
import { readInt } from './env-int.js';

async function main(): Promise<void> {
  const problems: string[] = [];
  const port = readInt(process.env, 'AUDIOSOCKET_PORT', 7575, problems, 0, 65535);
  const frameMs = readInt(process.env, 'AUDIOSOCKET_FRAME_MS', 20, problems);
  if (problems.length > 0) {
    for (const p of problems) process.stderr.write(`config: ${p}\n`);
    process.exit(1);
  }
  const echo = await AudioSocketEcho.start({ host: process.env.AUDIOSOCKET_HOST || '0.0.0.0', port, frameMs });
  process.stdout.write(`${JSON.stringify({ status: 'listening', host: echo.host, port: echo.port })}\n`);
  const shutdown = async () => {
    await echo.stop();
    process.stdout.write(`${JSON.stringify({ status: 'stopped', sessions: echo.sessions.size })}\n`);
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown());
  process.once('SIGINT', () => void shutdown());
}

main().catch((err: unknown) => {
  process.stderr.write(`audiosocket-echo failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});

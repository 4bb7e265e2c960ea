// Standalone ARI simulator for the demo and the benchmark. Config from env (see API.md);
// prints one JSON status line at start and one at stop, never the password.

import { AriSimulator } from './ari-simulator.js';
import { readInt } from './env-int.js';
import { CallerAudio, type WebSocketClientConfig } from './websocket-media-types.js';

/** `id=ws://host:port/path,id2=...`: the websocket_client.conf entries for chan_websocket client mode. */
function readWebSocketClients(raw: string, problems: string[]): Record<string, WebSocketClientConfig> {
  const clients: Record<string, WebSocketClientConfig> = {};
  for (const entry of raw.split(',').map((e) => e.trim()).filter((e) => e !== '')) {
    const eq = entry.indexOf('=');
    const id = eq > 0 ? entry.slice(0, eq) : '';
    const uri = eq > 0 ? entry.slice(eq + 1) : '';
    if (id === '' || !/^ws:\/\/[^/]+/.test(uri)) problems.push(`SIM_WEBSOCKET_CLIENTS entry '${entry}' must be <id>=ws://<host>:<port>/<path>`);
    else clients[id] = { uri };
  }
  return clients;
}

async function main(): Promise<void> {
  const env = process.env;
  const problems: string[] = [];
  const port = readInt(env, 'SIM_PORT', 8088, problems, 0, 65535);
  const rate = readInt(env, 'SIM_CALL_RATE', 0, problems);
  const holdMs = readInt(env, 'SIM_HOLD_MS', 5000, problems);
  const latencyMs = readInt(env, 'SIM_LATENCY_MS', 0, problems);
  const websocketClients = readWebSocketClients(env.SIM_WEBSOCKET_CLIENTS ?? '', problems);
  const callerAudio = env.SIM_WEBSOCKET_CALLER_AUDIO || CallerAudio.tone;
  if (!Object.values<string>(CallerAudio).includes(callerAudio)) {
    problems.push(`SIM_WEBSOCKET_CALLER_AUDIO must be one of ${Object.values(CallerAudio).join(', ')}, got '${callerAudio}'`);
  }
  if (problems.length > 0) {
    for (const p of problems) process.stderr.write(`config: ${p}\n`);
    process.exit(1);
  }
  const app = env.SIM_APP || 'ai_app';
  const sim = await AriSimulator.start({
    host: env.SIM_HOST || '127.0.0.1',
    port,
    latencyMs,
    websocketClients,
    websocketCallerAudio: callerAudio as CallerAudio,
    ...(env.ARI_USER ? { username: env.ARI_USER } : {}),
    ...(env.ARI_PASSWORD ? { password: env.ARI_PASSWORD } : {}),
  });
  process.stdout.write(`${JSON.stringify({ status: 'listening', ari: sim.baseUrl, events: sim.wsUrl, app, rate, holdMs })}\n`);

  let placed = 0;
  let refused = 0;
  let generator: NodeJS.Timeout | undefined;
  if (rate > 0) {
    // Calls arrive only while the app is connected, like Stasis() in a real dialplan.
    const start = Date.now();
    generator = setInterval(() => {
      const due = Math.floor(((Date.now() - start) * rate) / 1000);
      while (placed + refused < due) {
        try {
          const record = sim.placeCall({ app });
          placed += 1;
          setTimeout(() => sim.hangup(record.channelId), holdMs);
        } catch {
          refused += 1;
        }
      }
    }, 10);
  }

  const shutdown = async () => {
    clearInterval(generator);
    await sim.stop();
    process.stdout.write(`${JSON.stringify({ status: 'stopped', placed, refused, requests: sim.requests.length })}\n`);
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown());
  process.once('SIGINT', () => void shutdown());
}

main().catch((err: unknown) => {
  process.stderr.write(`ari-simulator failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});

/**
 * The direct-ARI reference: the controller's call plan run straight against ARI (HTTP and
 * WebSocket, no NATS), as its own process. It is what the bench compares our setup latency with.
 *   round trip 1, in parallel: answer, bridges.create (our id), externalMedia (id = data = a new
 *     UUID, AudioSocket to the echo server), and the media channel's own StasisStart;
 *   round trip 2: one addChannel with both channels;
 *   the caller's StasisEnd: hang up the media channel and destroy the bridge, in parallel.
 * Env: ARI_BASE_URL, ARI_USER, ARI_PASSWORD, ARI_APP, AUDIOSOCKET_HOST, AUDIOSOCKET_PORT.
 * Prints `ready` once its WebSocket is open; stops on SIGTERM.
 */
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { createAriClient } from './ari-client.js';

interface DirectCall {
  bridgeId: string;
  mediaId: string;
  /** Settles when setup has finished (or failed). */
  setup: Promise<void>;
}

const env = process.env;
const app = env.ARI_APP ?? 'direct_app';
const baseUrl = env.ARI_BASE_URL ?? 'http://127.0.0.1:8088/ari';
const authorization = `Basic ${Buffer.from(`${env.ARI_USER ?? ''}:${env.ARI_PASSWORD ?? ''}`).toString('base64')}`;
const externalHost = `${env.AUDIOSOCKET_HOST ?? '127.0.0.1'}:${env.AUDIOSOCKET_PORT ?? '7575'}`;
const ari = createAriClient(baseUrl, authorization);
const calls = new Map<string, DirectCall>();
const mediaWaiters = new Map<string, () => void>();
let failures = 0;

function waitForMedia(mediaId: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      mediaWaiters.delete(mediaId);
      reject(new Error('media channel did not enter Stasis'));
    }, 5000);
    mediaWaiters.set(mediaId, () => {
      clearTimeout(timer);
      mediaWaiters.delete(mediaId);
      resolve();
    });
  });
}

async function setUp(channelId: string, bridgeId: string, mediaId: string): Promise<void> {
  const media = waitForMedia(mediaId);
  await Promise.all([
    ari.send('POST', `/channels/${encodeURIComponent(channelId)}/answer`),
    ari.send('POST', `/bridges/${bridgeId}`, { type: 'mixing', name: `session-${mediaId}` }),
    ari.send('POST', '/channels/externalMedia', {
      channelId: mediaId, app, external_host: externalHost, format: 'slin16',
      encapsulation: 'audiosocket', transport: 'tcp', data: mediaId,
    }),
    media,
  ]);
  await ari.send('POST', `/bridges/${bridgeId}/addChannel`, { channel: `${channelId},${mediaId}` });
}

async function tearDown(call: DirectCall): Promise<void> {
  await call.setup.catch(() => undefined);
  await Promise.all([
    ari.send('DELETE', `/channels/${call.mediaId}`).catch(ignoreNotFound),
    ari.send('DELETE', `/bridges/${call.bridgeId}`).catch(ignoreNotFound),
  ]);
}

function ignoreNotFound(err: unknown): void {
  if (!String(err).includes('404')) throw err;
}

function onEvent(event: { type?: string; args?: string[]; channel?: { id?: string } }): void {
  const channelId = event.channel?.id;
  if (channelId === undefined) return;
  if (event.type === 'StasisStart') {
    if (event.args?.[0] === channelId) {
      mediaWaiters.get(channelId)?.();
      return;
    }
    const mediaId = randomUUID();
    const bridgeId = randomUUID();
    const setup = setUp(channelId, bridgeId, mediaId);
    setup.catch(() => (failures += 1));
    calls.set(channelId, { bridgeId, mediaId, setup });
    return;
  }
  if (event.type === 'StasisEnd') {
    const call = calls.get(channelId);
    if (call === undefined) return;
    calls.delete(channelId);
    tearDown(call).catch(() => (failures += 1));
  }
}

const wsUrl = `${baseUrl.replace(/^http/, 'ws')}/events?app=${encodeURIComponent(app)}&subscribeAll=false`;
const ws = new WebSocket(wsUrl, { headers: { authorization }, perMessageDeflate: false });
ws.on('message', (data: Buffer) => onEvent(JSON.parse(data.toString('utf8')) as Parameters<typeof onEvent>[0]));
ws.once('open', () => process.stdout.write(`${JSON.stringify({ msg: 'ready', app })}\n`));
ws.once('error', (err) => {
  process.stderr.write(`direct-ari: ${err.message}\n`);
  process.exitCode = 1;
});
process.once('SIGTERM', () => {
  process.stdout.write(`${JSON.stringify({ msg: 'stopped', failures, open: calls.size })}\n`);
  ws.close();
  ari.close();
  setTimeout(() => process.exit(0), 100).unref();
});

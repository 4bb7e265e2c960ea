/**
 * The demo's media side, per DEMO_MEDIA (pure): which echo server runs (a caller hears themselves
 * either way), and what the simulator and the controllers are told.
 *   audiosocket       the AudioSocket echo server; externalMedia AudioSocket over TCP
 *   websocket-client  the WebSocket echo server, which the simulator dials for every call
 *                     through its websocket_client `media_echo` (chan_websocket client mode)
 *   websocket-server  the WebSocket echo server, which connects to the simulator's
 *                     /media/<connection id> of each call's media_ready (the media connector
 *                     takes those off NATS for it; chan_websocket server mode)
 */
export type DemoMediaKind = 'audiosocket' | 'websocket-client' | 'websocket-server';

export interface DemoMedia {
  echo: { name: string; script: string; env: Record<string, string> };
  simEnv: Record<string, string>;
  controllerEnv: Record<string, string>;
  /** Server mode: the process that has the echo server connect on each media_ready. */
  connector?: { name: string; script: string; env: Record<string, string> };
  /** For the demo's summary. */
  describe: string;
}

const CLIENT_ID = 'media_echo';

export function demoMedia(kind: DemoMediaKind, ports: { media: number; sim: number }, app: string): DemoMedia {
  if (kind === 'audiosocket') {
    return {
      echo: { name: 'audiosocket-echo', script: 'test/ari-simulator/dist/echo-main.js', env: { AUDIOSOCKET_HOST: '127.0.0.1', AUDIOSOCKET_PORT: String(ports.media) } },
      simEnv: {},
      controllerEnv: { AUDIOSOCKET_HOST: '127.0.0.1', AUDIOSOCKET_PORT: String(ports.media) },
      describe: `127.0.0.1:${ports.media} (AudioSocket echo)`,
    };
  }
  const echoUrl = `ws://127.0.0.1:${ports.media}/media`;
  const echo = { name: 'websocket-echo', script: 'test/ari-simulator/dist/websocket-echo-main.js', env: { WS_ECHO_HOST: '127.0.0.1', WS_ECHO_PORT: String(ports.media) } };
  if (kind === 'websocket-client') {
    return {
      echo,
      simEnv: { SIM_WEBSOCKET_CLIENTS: `${CLIENT_ID}=${echoUrl}` },
      controllerEnv: { EXTERNAL_MEDIA_TRANSPORT: 'websocket', EXTERNAL_MEDIA_CONNECTION: 'client', EXTERNAL_MEDIA_WEBSOCKET_CLIENT: CLIENT_ID },
      describe: `${echoUrl} (WebSocket echo; the simulator dials it for each call: chan_websocket client mode, websocket_client ${CLIENT_ID})`,
    };
  }
  const mediaUrl = `ws://127.0.0.1:${ports.sim}/media`;
  return {
    echo,
    simEnv: {},
    controllerEnv: { EXTERNAL_MEDIA_TRANSPORT: 'websocket', EXTERNAL_MEDIA_CONNECTION: 'server', EXTERNAL_MEDIA_WEBSOCKET_URL: mediaUrl },
    connector: { name: 'media-connector', script: 'tools/dist/media-connector.js', env: { ARI_APP: app, MEDIA_CONNECT_URL: `http://127.0.0.1:${ports.media}/connect` } },
    describe: `WebSocket echo on 127.0.0.1:${ports.media}, connecting to ${mediaUrl}/<connection id> on each media_ready (chan_websocket server mode)`,
  };
}

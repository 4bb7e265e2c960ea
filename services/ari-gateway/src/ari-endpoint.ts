/**
 * Where and how to reach ARI, derived from ARI_BASE_URL: the REST base, the events WebSocket URL
 * and the Basic Authorization header. Credentials only ever travel in that header, so userinfo in
 * ARI_BASE_URL is stripped rather than sent in (and logged with) a URL.
 */

export interface AriEndpoint {
  /** REST base without userinfo or trailing slash, e.g. `http://asterisk:8088/ari`. */
  restBase: string;
  /** `ws(s)://.../events?app=<app>&subscribeAll=false`. */
  eventsUrl: string;
  authorization: string;
}

export function ariEndpoint(baseUrl: string, app: string, user: string, password: string): AriEndpoint {
  const rest = new URL(baseUrl);
  rest.username = '';
  rest.password = '';
  rest.search = '';
  rest.hash = '';
  rest.pathname = rest.pathname.replace(/\/+$/, '');
  const events = new URL(rest.toString());
  events.protocol = rest.protocol === 'https:' ? 'wss:' : 'ws:';
  events.pathname = `${rest.pathname}/events`;
  // Without subscribeAll the app gets events of its own channels and bridges only, as recorded.
  events.search = new URLSearchParams({ app, subscribeAll: 'false' }).toString();
  return {
    restBase: rest.toString().replace(/\/+$/, ''),
    eventsUrl: events.toString(),
    authorization: `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`,
  };
}

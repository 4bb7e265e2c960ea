/**
 * Each catalogue command -> its ARI request (method, path, query). Pure. Ids were validated as
 * AriId and are still encoded, so each is exactly one path segment; params go in the query
 * string, where ARI reads them.
 */
import type { CommandName, ValidCommandParams } from '@avb/contracts';

export interface AriRoute {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  query: Record<string, string>;
}

export type RouteResult = { ok: true; route: AriRoute } | { ok: false; message: string };

export interface RouteContext {
  /** The gateway's own ARI application. */
  app: string;
}

type QueryValue = string | number | boolean | readonly string[] | undefined;

const seg = (id: string) => encodeURIComponent(id);

/** ARI takes lists comma-separated and booleans as `true`/`false`; absent params are left out. */
function toQuery(params: Record<string, QueryValue>): Record<string, string> {
  const query: Record<string, string> = {};
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined) continue;
    query[key] = typeof value === 'object' ? value.join(',') : String(value);
  }
  return query;
}

const to = (method: AriRoute['method'], path: string, params: Record<string, QueryValue> = {}): RouteResult =>
  ({ ok: true, route: { method, path, query: toQuery(params) } });

const ROUTES: { [N in CommandName]: (p: ValidCommandParams<N>, ctx: RouteContext) => RouteResult } = {
  'channels.list': () => to('GET', '/channels'),
  'channels.get': ({ channelId }) => to('GET', `/channels/${seg(channelId)}`),
  'channels.answer': ({ channelId }) => to('POST', `/channels/${seg(channelId)}/answer`),
  'channels.hangup': ({ channelId, ...q }) => to('DELETE', `/channels/${seg(channelId)}`, q),
  'channels.continue': ({ channelId, ...q }) => to('POST', `/channels/${seg(channelId)}/continue`, q),
  'channels.externalMedia': (p, { app }) => {
    // One gateway serves one app: media channels of another app would land on a socket we do not hold.
    if (p.app !== undefined && p.app !== app) return { ok: false, message: `app must be ${app} (this gateway's ARI application)` };
    return to('POST', '/channels/externalMedia', { ...p, app });
  },
  'bridges.list': () => to('GET', '/bridges'),
  'bridges.get': ({ bridgeId }) => to('GET', `/bridges/${seg(bridgeId)}`),
  'bridges.create': ({ bridgeId, ...q }) => to('POST', bridgeId === undefined ? '/bridges' : `/bridges/${seg(bridgeId)}`, q),
  'bridges.destroy': ({ bridgeId }) => to('DELETE', `/bridges/${seg(bridgeId)}`),
  'bridges.addChannel': ({ bridgeId, ...q }) => to('POST', `/bridges/${seg(bridgeId)}/addChannel`, q),
  'bridges.removeChannel': ({ bridgeId, ...q }) => to('POST', `/bridges/${seg(bridgeId)}/removeChannel`, q),
};

export function routeCommand<N extends CommandName>(name: N, params: ValidCommandParams<N>, ctx: RouteContext): RouteResult {
  return ROUTES[name](params, ctx);
}

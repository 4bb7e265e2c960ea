/**
 * The direct reference's ARI REST client: node:http with a keep-alive agent, params in the
 * query string as ARI reads them. Resolves with the status; rejects on a network error or an
 * error status, like any ARI client would.
 */
import { Agent, request } from 'node:http';

export interface AriClient {
  send(method: 'POST' | 'DELETE', path: string, query?: Record<string, string>): Promise<number>;
  close(): void;
}

export function createAriClient(baseUrl: string, authorization: string): AriClient {
  const base = new URL(baseUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const prefix = base.pathname.replace(/\/+$/, '');
  return {
    send(method, path, query) {
      const qs = query === undefined ? '' : `?${new URLSearchParams(query).toString()}`;
      return new Promise((resolve, reject) => {
        const req = request(
          { agent, host: base.hostname, port: base.port, method, path: `${prefix}${path}${qs}`, headers: { authorization, accept: 'application/json' } },
          (res) => {
            res.resume();
            res.once('end', () => {
              const status = res.statusCode ?? 0;
              if (status >= 400) reject(new Error(`${method} ${path}: ARI answered ${status}`));
              else resolve(status);
            });
          },
        );
        req.once('error', reject);
        req.end();
      });
    },
    close: () => agent.destroy(),
  };
}

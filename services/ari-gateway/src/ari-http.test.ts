import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createAriHttp } from './ari-http.js';

/** A loopback TCP server that answers every connection with these bytes, then closes. */
function rawServer(reply: string): Promise<{ server: Server; url: string }> {
  return new Promise((resolve) => {
    const server = createServer((socket) => {
      socket.once('data', () => socket.end(reply));
    });
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      resolve({ server, url: `http://127.0.0.1:${port}/ari` });
    });
  });
}

const route = { method: 'GET', path: '/channels', query: {} } as const;

describe('ARI REST failures map to the code that says what happened (issue 15, defect 7)', () => {
  let garbage: { server: Server; url: string };
  let ok: { server: Server; url: string };
  before(async () => {
    garbage = await rawServer('HTTP/1.1 banana\r\n\r\n');
    ok = await rawServer('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n[]');
  });
  after(() => {
    garbage.server.close();
    ok.server.close();
  });

  it('an answer that is not HTTP is ari_error (not retried as if ARI were unreachable)', async () => {
    const outcome = await createAriHttp({ baseUrl: garbage.url, authorization: 'Basic eDp5', timeoutMs: 2000 }).request(route);
    assert.equal(outcome.ok, false);
    assert.equal(!outcome.ok && outcome.error.code, 'ari_error');
  });

  it('a request we cannot even send (a bad header) is internal', async () => {
    const outcome = await createAriHttp({ baseUrl: ok.url, authorization: 'Basic bad\nheader', timeoutMs: 2000 }).request(route);
    assert.equal(outcome.ok, false);
    assert.equal(!outcome.ok && outcome.error.code, 'internal');
  });

  it('nothing listening is ari_unavailable; a real answer is ok', async () => {
    const closed = await rawServer('');
    const url = closed.url;
    await new Promise((r) => closed.server.close(r));
    const refused = await createAriHttp({ baseUrl: url, authorization: 'Basic eDp5', timeoutMs: 2000 }).request(route);
    assert.equal(!refused.ok && refused.error.code, 'ari_unavailable');
    const fine = await createAriHttp({ baseUrl: ok.url, authorization: 'Basic eDp5', timeoutMs: 2000 }).request(route);
    assert.deepEqual(fine, { ok: true, status: 200, result: [] });
  });
});

import { ServerConnection } from '@jupyterlab/services';

import { BlackLakeAPI } from '../api';
import { APIError, requestAPI } from '../request';

interface ICall {
  url: string;
  method: string;
  body: string;
}

function settingsWith(
  respond: (url: string, init: RequestInit) => Response
): { settings: ServerConnection.ISettings; calls: ICall[] } {
  const calls: ICall[] = [];
  const fetchMock = async (input: RequestInfo | URL, init?: RequestInit) => {
    const raw = typeof input === 'string' ? input : (input as Request).url ?? String(input);
    // makeRequest adds a cache-busting timestamp to GETs
    const url = raw.replace(/[?&]\d{10,}$/, '');
    const req = typeof input === 'string' ? null : (input as Request);
    calls.push({
      url,
      method: req?.method ?? init?.method ?? 'GET',
      body: req ? await req.text() : String(init?.body ?? '')
    });
    return respond(url, init ?? {});
  };
  const settings = ServerConnection.makeSettings({
    baseUrl: 'http://localhost:8888/user/x/',
    fetch: fetchMock as unknown as typeof fetch
  });
  return { settings, calls };
}

async function failure(p: Promise<unknown>): Promise<APIError> {
  try {
    await p;
  } catch (e) {
    return e as APIError;
  }
  throw new Error('expected a failure');
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json' }
  });

describe('requestAPI', () => {
  it('calls below the base URL and returns the JSON', async () => {
    const { settings, calls } = settingsWith(() => json(200, { ok: true }));
    const out = await requestAPI<{ ok: boolean }>('status', { method: 'GET' }, settings);
    expect(out).toEqual({ ok: true });
    expect(calls[0].url).toBe('http://localhost:8888/user/x/blacklake/api/status');
  });

  it('turns a JSON error into an APIError with message, reason and conflicts', async () => {
    const { settings } = settingsWith(() =>
      json(409, {
        message: 'merge conflict in 2 paths',
        reason: 'MergeConflict',
        conflicts: ['a.txt', '<b>.txt']
      })
    );
    const err = await failure(requestAPI('repos/r/merge', { method: 'POST' }, settings));
    expect(err).toBeInstanceOf(APIError);
    expect(err.status).toBe(409);
    expect(err.reason).toBe('MergeConflict');
    expect(err.message).toBe('merge conflict in 2 paths');
    expect(err.conflicts).toEqual(['a.txt', '<b>.txt']);
    expect(err.missingExtension).toBe(false);
  });

  it('recognises a server without the extension (HTML 404)', async () => {
    const { settings } = settingsWith(
      () => new Response('<html>404 Not Found</html>', { status: 404 })
    );
    const err = await failure(requestAPI('status', { method: 'GET' }, settings));
    expect(err.missingExtension).toBe(true);
  });

  it('keeps our own JSON 404s as not-found errors', async () => {
    const { settings } = settingsWith(() =>
      json(404, { message: "repository 'x' not found", reason: 'RepoNotFound' })
    );
    const err = await failure(requestAPI('repos/x', { method: 'GET' }, settings));
    expect(err.missingExtension).toBe(false);
    expect(err.reason).toBe('RepoNotFound');
  });

  it('reports an unreachable server as status 0', async () => {
    const settings = ServerConnection.makeSettings({
      baseUrl: 'http://localhost:1/',
      fetch: (async () => {
        throw new TypeError('Failed to fetch');
      }) as unknown as typeof fetch
    });
    const err = await failure(requestAPI('status', { method: 'GET' }, settings));
    expect(err).toBeInstanceOf(APIError);
    expect(err.status).toBe(0);
  });
});

describe('BlackLakeAPI', () => {
  it('encodes path segments and query parameters, repeating filters', async () => {
    const { settings, calls } = settingsWith(() => json(200, { items: [] }));
    const api = new BlackLakeAPI(settings);
    await api.tree('repo', 'v1.0', 'a b/c&d', 200, 100);
    await api.search('german fine-tune', { filters: ['language=de', 'parameters<1e9'] });
    await api.setAlias('repo', 'champion', 'v1.1.0', 'abc', 'won');
    expect(calls[0].url).toBe(
      'http://localhost:8888/user/x/blacklake/api/repos/repo/tree/v1.0?path=a%20b%2Fc%26d&offset=200&limit=100'
    );
    expect(calls[1].url).toContain('q=german%20fine-tune&filter=language%3Dde&filter=parameters%3C1e9');
    expect(calls[2].method).toBe('PUT');
    expect(JSON.parse(calls[2].body)).toEqual({
      ref: 'v1.1.0',
      expect: 'abc',
      reason: 'won'
    });
  });
});

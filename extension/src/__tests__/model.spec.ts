import { BlackLakeAPI } from '../api';
import { BlackLakeModel } from '../model';
import { APIError } from '../request';
import { IRepoDetail, IStatus } from '../types';

function status(extra: Partial<IStatus> = {}): IStatus {
  return {
    ok: true,
    extension: 'blacklake_ml',
    version: '0.1.0',
    api_version: 1,
    store: { home: '/tmp/store' },
    dense_search: false,
    counts: { repos: 1, cards: 2 },
    empty: false,
    ...extra
  };
}

const detail: IRepoDetail = {
  name: 'r',
  description: '',
  default_branch: 'main',
  branches: [{ name: 'main', kind: 'branch', commit: 'c1' }],
  tags: [],
  aliases: []
};

function fakeAPI(overrides: Partial<Record<keyof BlackLakeAPI, unknown>> = {}): BlackLakeAPI {
  return {
    status: async () => status(),
    repos: async () => ({ items: [{ name: 'r', description: '' }], offset: 0, limit: 1000, total: 1 }),
    repo: async () => detail,
    ...overrides
  } as unknown as BlackLakeAPI;
}

describe('BlackLakeModel.refresh', () => {
  it('loads repositories and reports a change only when something changed', async () => {
    const m = new BlackLakeModel(fakeAPI());
    expect(await m.refresh()).toBe(true);
    expect(m.state.connection).toBe('ok');
    expect(m.state.repos.map(r => r.name)).toEqual(['r']);
    const gen = m.state.generation;
    expect(await m.refresh()).toBe(false);
    expect(m.state.generation).toBe(gen);
  });

  it('notices a branch moving in the chosen repository', async () => {
    let head = 'c1';
    const m = new BlackLakeModel(
      fakeAPI({
        repo: async () => ({
          ...detail,
          branches: [{ name: 'main', kind: 'branch', commit: head }]
        })
      })
    );
    await m.refresh();
    await m.selectRepo('r');
    expect(m.state.ref).toBe('main');
    // choosing the repository is no store change: the next refresh sees none
    expect(await m.refresh()).toBe(false);
    head = 'c2';
    expect(await m.refresh()).toBe(true);
  });

  it('says when the server extension is missing, and rejects (so the poll backs off)', async () => {
    const m = new BlackLakeModel(
      fakeAPI({
        status: async () => {
          throw new APIError('not enabled', 404, 'MissingExtension');
        }
      })
    );
    await expect(m.refresh()).rejects.toBeInstanceOf(APIError);
    expect(m.state.connection).toBe('missing');
  });

  it('shows a store that cannot be opened', async () => {
    const m = new BlackLakeModel(
      fakeAPI({
        status: async () =>
          status({ ok: false, error: { message: 'catalog locked', reason: 'CatalogError' } })
      })
    );
    await m.refresh();
    expect(m.state.connection).toBe('store-error');
    expect(m.state.error?.message).toBe('catalog locked');
  });

  it('passes requests between tabs', () => {
    const m = new BlackLakeModel(fakeAPI());
    m.requestCompare('a', 'b', 'x');
    expect(m.state.tab).toBe('compare');
    expect(m.state.compare).toMatchObject({ a: 'a', b: 'b', path: 'x' });
    m.requestLineage('blacklake://r/main/m');
    expect(m.state.tab).toBe('lineage');
  });
});

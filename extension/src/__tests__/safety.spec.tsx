import React from 'react';
import { act } from 'react-dom/test-utils';
import { createRoot, Root } from 'react-dom/client';

import { IBlackLakeContext } from '../actions';
import { BlackLakeAPI } from '../api';
import { Details } from '../components/Details';
import { FileTree } from '../components/FileTree';
import { SafetyBadge, SafetyVerdict } from '../components/Safety';
import { Hit } from '../components/Search';
import { BlackLakeModel } from '../model';
import {
  MAX_REASONS,
  safetyClass,
  safetyLabel,
  safetyOf,
  safetyReasons,
  safetyTitle
} from '../safety';
import { IEntry, IFileInfo, ISearchHit, ITreePage } from '../types';

(globalThis as any).IS_REACT_ACT_ENVIRONMENT = true;

let host: HTMLDivElement;
let root: Root;

beforeEach(() => {
  host = document.createElement('div');
  document.body.appendChild(host);
  root = createRoot(host);
});

afterEach(() => {
  act(() => root.unmount());
  host.remove();
  delete (window as any).__pwned;
});

const flush = async () => {
  for (let i = 0; i < 5; i++) {
    await act(async () => {
      await new Promise(r => setTimeout(r, 0));
    });
  }
};

const HOSTILE_REASON =
  '<img src=x onerror="window.__pwned=1"> global os.system <script>window.__pwned=2</script>';

function expectInert(): void {
  expect(host.querySelector('script')).toBeNull();
  expect(host.querySelectorAll('img').length).toBe(0);
  expect((window as any).__pwned).toBeUndefined();
}

describe('safety helpers', () => {
  it('trusts only an exact "safe" or "unsafe"; anything else is unknown', () => {
    expect(safetyOf({ safety: 'safe' })).toBe('safe');
    expect(safetyOf({ safety: 'unsafe' })).toBe('unsafe');
    expect(safetyOf({ safety: 'unknown' })).toBe('unknown');
    for (const odd of [undefined, null, '', 'SAFE', 'safe ', 'ok', true, 1, {}, ['safe']]) {
      expect(safetyOf({ safety: odd })).toBe('unknown');
    }
    expect(safetyOf({})).toBe('unknown');
    expect(safetyOf(null)).toBe('unknown');
    expect(safetyOf(undefined)).toBe('unknown');
  });

  it('never labels or colours unknown like safe', () => {
    for (const compact of [false, true]) {
      expect(safetyLabel('safe', compact)).toBe('safe');
      expect(safetyLabel('unknown', compact)).toBe('not verified');
      expect(safetyLabel('unknown', compact)).not.toMatch(/safe/);
      expect(safetyLabel('unsafe', compact)).toMatch(/^unsafe/);
    }
    expect(safetyLabel('unsafe')).toBe('unsafe — loading runs code');
    const classes = new Set(['safe', 'unsafe', 'unknown'].map(s => safetyClass(s as any)));
    expect(classes.size).toBe(3);
    expect(safetyClass('unknown')).not.toContain('safety-safe');
  });

  it('keeps string reasons only, capped, and lists a few in the tooltip', () => {
    expect(safetyReasons({})).toEqual([]);
    expect(safetyReasons({ safety_reasons: 'not a list' })).toEqual([]);
    expect(safetyReasons({ safety_reasons: ['a', 3, null, 'b'] })).toEqual(['a', 'b']);
    const many = Array.from({ length: 50 }, (_, i) => `reason ${i}`);
    expect(safetyReasons({ safety_reasons: many }).length).toBe(MAX_REASONS);
    const long = safetyReasons({ safety_reasons: ['x'.repeat(1000)] })[0];
    expect(long.length).toBe(300);
    expect(long.endsWith('…')).toBe(true);
    const title = safetyTitle('unsafe', ['one', 'two', 'three', 'four']);
    expect(title.split('\n')).toEqual([
      expect.stringContaining('can run code'),
      '• one',
      '• two',
      '• three',
      '… 1 more'
    ]);
    expect(safetyTitle('unknown')).toMatch(/^Not verified/);
  });
});

describe('SafetyBadge and SafetyVerdict', () => {
  it('render each verdict as text, a missing one as not verified', () => {
    const cases: [object, string, string][] = [
      [{ safety: 'safe', safety_reasons: [] }, 'safe', 'safe'],
      [{ safety: 'unsafe', safety_reasons: ['os.system'] }, 'unsafe', 'unsafe'],
      [{ safety: 'unknown', safety_reasons: [] }, 'unknown', 'not verified'],
      [{}, 'unknown', 'not verified']
    ];
    for (const [of, state, text] of cases) {
      act(() => root.render(<SafetyBadge of={of} compact />));
      const badge = host.querySelector('.jp-BlackLake-safety') as HTMLElement;
      expect(badge.dataset.safety).toBe(state);
      expect(badge.textContent).toBe(text);
      expect(badge.className).toContain(`jp-BlackLake-safety-${state}`);
    }
  });

  it('lists hostile reasons as inert text', () => {
    act(() =>
      root.render(
        <SafetyVerdict of={{ safety: 'unsafe', safety_reasons: [HOSTILE_REASON, 'second'] }} />
      )
    );
    const items = Array.from(host.querySelectorAll('.jp-BlackLake-safetyReasons li'));
    expect(items.map(li => li.textContent)).toEqual([HOSTILE_REASON, 'second']);
    expect(host.querySelector('.jp-BlackLake-safety')?.textContent).toBe(
      'unsafe — loading runs code'
    );
    expect(host.querySelector('.jp-BlackLake-safety')?.getAttribute('title')).toContain(
      HOSTILE_REASON
    );
    expectInert();
  });

  it('says how many reasons were left out', () => {
    const reasons = Array.from({ length: 45 }, (_, i) => `r${i}`);
    act(() => root.render(<SafetyVerdict of={{ safety: 'unknown', safety_reasons: reasons }} />));
    const items = host.querySelectorAll('.jp-BlackLake-safetyReasons li');
    expect(items.length).toBe(MAX_REASONS + 1);
    expect(items[MAX_REASONS].textContent).toBe('… 25 more');
    expect(host.textContent).toContain('Not verified');
  });
});

function entry(path: string, extra: Partial<IEntry> = {}): IEntry {
  return {
    path,
    name: path,
    kind: 'file',
    size: 10,
    id: path,
    meta: {},
    ...extra
  };
}

describe('the panel shows verdicts', () => {
  it('on file rows in Browse (not on folders; missing = not verified)', async () => {
    const items = [
      entry('models', { kind: 'dir', nfiles: 3 }),
      entry('model.pkl', { safety: 'unsafe', safety_reasons: [HOSTILE_REASON] }),
      entry('weights.safetensors', { safety: 'safe', safety_reasons: [] }),
      entry('blob.bin', { safety: 'unknown', safety_reasons: ['unrecognised binary format'] }),
      entry('old-server.bin')
    ];
    const api = {
      tree: async (_r: string, _ref: string, path: string, offset: number, limit: number) =>
        ({
          repo: 'r', ref: 'main', commit: 'c', path, items, offset, limit,
          total: items.length, has_more: false
        }) as ITreePage
    } as unknown as BlackLakeAPI;
    act(() =>
      root.render(
        <FileTree api={api} repo="r" at="main" generation={0} pageSize={100} selected={null}
          onOpen={() => undefined} />
      )
    );
    await flush();
    const verdict = (path: string) =>
      (host.querySelector(`[data-path="${path}"] .jp-BlackLake-safety`) as HTMLElement | null)
        ?.dataset.safety ?? null;
    expect(verdict('models')).toBeNull();
    expect(verdict('model.pkl')).toBe('unsafe');
    expect(verdict('weights.safetensors')).toBe('safe');
    expect(verdict('blob.bin')).toBe('unknown');
    expect(verdict('old-server.bin')).toBe('unknown');
    expect(
      host.querySelector('[data-path="old-server.bin"] .jp-BlackLake-safety')?.textContent
    ).toBe('not verified');
    expectInert();
  });

  it('in the file details header, with the reasons', async () => {
    const info: IFileInfo = {
      repo: 'r', ref: 'main', commit: 'c'.repeat(64), uri: 'blacklake://r/main/model.pkl',
      path: 'model.pkl', name: 'model.pkl', kind: 'file', size: 100, id: 'f'.repeat(64),
      meta: {}, asset: null, readme: null, deprecation: null, sha256: 'a'.repeat(64),
      text: false, content: null, content_truncated: false,
      safety: 'unsafe', safety_reasons: [HOSTILE_REASON, 'REDUCE of builtins.eval'],
      safety_format: 'pickle'
    };
    const api = {
      file: async () => info,
      log: async () => ({ items: [], offset: 0, limit: 20, has_more: false, repo: 'r', ref: 'main', commit: 'c', path: '' })
    } as unknown as BlackLakeAPI;
    const ctx: IBlackLakeContext = {
      api, model: new BlackLakeModel(api), notebooks: null, treePageSize: 200,
      openDetails: () => undefined, openLineage: () => undefined,
      renderCard: async () => undefined
    };
    act(() => root.render(<Details ctx={ctx} repo="r" at="main" path="model.pkl" />));
    await flush();
    const header = host.querySelector('.jp-BlackLake-detailHeader') as HTMLElement;
    const verdict = header.querySelector('.jp-BlackLake-safetyVerdict') as HTMLElement;
    expect(verdict.dataset.safety).toBe('unsafe');
    expect(verdict.querySelector('.jp-BlackLake-safety')?.textContent).toBe(
      'unsafe — loading runs code'
    );
    expect(Array.from(verdict.querySelectorAll('li')).map(li => li.textContent)).toEqual([
      HOSTILE_REASON,
      'REDUCE of builtins.eval'
    ]);
    expectInert();
  });

  it('a folder has no verdict in its header; a file without one is not verified', async () => {
    const base = {
      repo: 'r', ref: 'main', commit: 'c'.repeat(64), uri: 'blacklake://r/main/x', path: 'x',
      name: 'x', size: 1, id: 'f'.repeat(64), meta: {}, asset: null, readme: null,
      deprecation: null, sha256: null, text: false, content: null, content_truncated: false
    };
    for (const [kind, want] of [['dir', null], ['file', 'unknown']] as const) {
      const info = { ...base, kind } as IFileInfo;
      const api = {
        file: async () => info,
        log: async () => ({ items: [], offset: 0, limit: 20, has_more: false, repo: 'r', ref: 'main', commit: 'c', path: '' })
      } as unknown as BlackLakeAPI;
      const ctx = {
        api, model: new BlackLakeModel(api), notebooks: null, treePageSize: 200,
        openDetails: () => undefined, openLineage: () => undefined,
        renderCard: async () => undefined
      } as IBlackLakeContext;
      act(() => root.render(<Details key={kind} ctx={ctx} repo="r" at="main" path="x" />));
      await flush();
      const verdict = host.querySelector('.jp-BlackLake-safetyVerdict') as HTMLElement | null;
      expect(verdict?.dataset.safety ?? null).toBe(want);
    }
  });

  it('on search hits', () => {
    const hit = {
      uri: 'blacklake://r/main/m', score: 0.5, repo: 'r', ref: 'main', path: 'm',
      kind: 'model', name: 'm', size: 1, parameters: null, refs: ['main'], facts: {}, why: {}
    } as ISearchHit;
    const ctx = { model: {} } as unknown as IBlackLakeContext;
    const cases: [Partial<ISearchHit>, string][] = [
      [{ safety: 'safe', safety_reasons: [] }, 'safe'],
      [{ safety: 'unsafe', safety_reasons: [HOSTILE_REASON] }, 'unsafe'],
      [{ safety: 'unknown', safety_reasons: [] }, 'unknown'],
      [{}, 'unknown']
    ];
    for (const [extra, want] of cases) {
      act(() => root.render(<Hit ctx={ctx} hit={{ ...hit, ...extra }} best={1} />));
      const badge = host.querySelector('.jp-BlackLake-hitTitle .jp-BlackLake-safety') as HTMLElement;
      expect(badge.dataset.safety).toBe(want);
    }
    expectInert();
  });
});

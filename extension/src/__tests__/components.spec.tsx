import { Sanitizer } from '@jupyterlab/apputils';
import React from 'react';
import { act } from 'react-dom/test-utils';
import { createRoot, Root } from 'react-dom/client';

import { IBlackLakeContext } from '../actions';
import { BlackLakeAPI } from '../api';
import { renderCardInto } from '../card';
import { Details } from '../components/Details';
import { FileTree, flattenTree } from '../components/FileTree';
import { GraphCell } from '../components/History';
import { WhyMatched } from '../components/Search';
import { layoutGraph } from '../graph';
import { BlackLakeModel } from '../model';
import { IEntry, IFileInfo, ISearchHit, ITreePage } from '../types';

// React 18: tell it this is a test environment that uses act().
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
});

const flush = async () => {
  for (let i = 0; i < 5; i++) {
    await act(async () => {
      await new Promise(r => setTimeout(r, 0));
    });
  }
};

function entry(path: string, kind: 'file' | 'dir' = 'file'): IEntry {
  return {
    path,
    name: path.split('/').pop() as string,
    kind,
    size: 10,
    id: path,
    meta: {},
    nfiles: kind === 'dir' ? 10_500 : 1
  };
}

/** A fake tree API: a root with one folder of `n` files, paginated like the server. */
function treeAPI(n: number, calls: { path: string; offset: number; limit: number }[]) {
  return {
    tree: async (_r: string, _ref: string, path: string, offset: number, limit: number) => {
      calls.push({ path, offset, limit });
      const all =
        path === ''
          ? [entry('many', 'dir'), entry('README.md')]
          : Array.from({ length: n }, (_, i) => entry(`many/file-${String(i).padStart(5, '0')}.txt`));
      const items = all.slice(offset, offset + limit);
      const page: ITreePage = {
        repo: 'r', ref: 'main', commit: 'c', path, items, offset, limit,
        total: all.length, has_more: offset + items.length < all.length
      };
      return page;
    }
  } as unknown as BlackLakeAPI;
}

describe('FileTree', () => {
  it('loads folders lazily, a page at a time, and renders only a window of rows', async () => {
    const calls: { path: string; offset: number; limit: number }[] = [];
    const opened: string[] = [];
    act(() =>
      root.render(
        <FileTree
          api={treeAPI(10_500, calls)}
          repo="r"
          at="main"
          generation={0}
          pageSize={200}
          selected={null}
          onOpen={e => opened.push(e.path)}
        />
      )
    );
    await flush();
    expect(calls).toEqual([{ path: '', offset: 0, limit: 200 }]);
    const folder = host.querySelector('[data-path="many"]') as HTMLElement;
    expect(folder.getAttribute('aria-expanded')).toBe('false');
    act(() => folder.click());
    await flush();
    expect(calls[1]).toEqual({ path: 'many', offset: 0, limit: 200 });
    const list = host.querySelector('.jp-BlackLake-tree') as HTMLElement;
    // 2 root entries + 200 loaded files + a "more" row; only ~30 rendered
    expect(list.getAttribute('data-count')).toBe('203');
    expect(host.querySelectorAll('.jp-BlackLake-vrow').length).toBeLessThan(40);

    // scroll to the end: the "more" row comes into view and loads the next page
    list.scrollTop = 203 * 24;
    await act(async () => {
      list.dispatchEvent(new Event('scroll'));
      await new Promise(r => setTimeout(r, 50));
    });
    await flush();
    expect(calls[2]).toEqual({ path: 'many', offset: 200, limit: 200 });
    expect(list.getAttribute('data-count')).toBe('403');
    expect(host.querySelectorAll('.jp-BlackLake-vrow').length).toBeLessThan(40);
    expect(host.textContent).toContain('file-00201.txt'); // from the second page

    act(() => (host.querySelector('[data-path="README.md"]') as HTMLElement)?.click());
    // README.md is scrolled out of the window now; open a visible file instead
    const visible = host.querySelector('[data-kind="file"]') as HTMLElement;
    act(() => visible.click());
    expect(opened.length).toBe(1);
  });
});

describe('flattenTree', () => {
  it('nests open folders and adds "more" rows while pages remain', () => {
    const dirs = new Map([
      ['', { items: [entry('d', 'dir'), entry('f')], total: 2, hasMore: false, loading: false, error: null }],
      ['d', { items: [entry('d/x')], total: 5, hasMore: true, loading: false, error: null }]
    ]);
    const rows = flattenTree(dirs, new Set(['d']));
    expect(rows.map(r => (r.type === 'entry' ? r.entry.path : `${r.type}:${r.dir}`))).toEqual([
      'd', 'd/x', 'more:d', 'f'
    ]);
    expect(rows[2]).toMatchObject({ depth: 1, remaining: 4 });
    expect(flattenTree(dirs, new Set()).length).toBe(2);
  });
});

describe('Details', () => {
  it('shows metadata and facts as text and renders a hostile card inert', async () => {
    const info: IFileInfo = {
      repo: 'r', ref: 'main', commit: 'c'.repeat(64),
      uri: 'blacklake://r/main/m/README.md', path: 'm/README.md', name: 'README.md',
      kind: 'file', size: 100, id: 'f'.repeat(64), meta: { note: '<b>bold</b>' },
      asset: {
        path: 'm', uri: 'blacklake://r/main/m', kind: 'model', name: '<img src=x onerror=alert(1)>',
        size: 100, parameters: 1000, facts: { license: 'mit', format: 'huggingface' }
      },
      readme: {
        path: 'm/README.md',
        text: '# Card\n<script>window.__pwned=1</script><img src="x" onerror="window.__pwned=2">',
        truncated: false
      },
      deprecation: null, sha256: 'a'.repeat(64), text: true, content: '# Card', content_truncated: false
    };
    const api = {
      file: async () => info,
      log: async () => ({ items: [], offset: 0, limit: 20, has_more: false, repo: 'r', ref: 'main', commit: 'c', path: '' })
    } as unknown as BlackLakeAPI;
    const ctx: IBlackLakeContext = {
      api,
      model: new BlackLakeModel(api),
      notebooks: null,
      treePageSize: 200,
      openDetails: () => undefined,
      openLineage: () => undefined,
      renderCard: (el, md) => renderCardInto(el, md, { render: async s => s }, new Sanitizer())
    };
    act(() => root.render(<Details ctx={ctx} repo="r" at="main" path="m/README.md" />));
    await flush();
    expect(host.querySelector('.jp-BlackLake-title')?.textContent).toBe('<img src=x onerror=alert(1)>');
    expect(host.querySelector('tr[data-key="note"] td')?.textContent).toBe('<b>bold</b>');
    expect(host.querySelector('tr[data-key="license"] td')?.textContent).toBe('mit');
    const card = host.querySelector('.jp-BlackLake-card') as HTMLElement;
    expect(card.textContent).toContain('# Card'); // the stand-in parser passes text through
    expect(card.querySelector('script')).toBeNull();
    expect(card.innerHTML).not.toContain('onerror');
    expect(host.querySelectorAll('img[onerror]').length).toBe(0);
    expect((window as any).__pwned).toBeUndefined();
  });
});

describe('GraphCell', () => {
  it('draws one dot per row and the lines to the next row', () => {
    const layout = layoutGraph([
      { id: 'm', parents: ['b', 'f'] },
      { id: 'f', parents: ['a'] },
      { id: 'b', parents: ['a'] },
      { id: 'a', parents: [] }
    ]);
    act(() =>
      root.render(
        <div>
          {layout.rows.map((_, i) => (
            <GraphCell key={i} layout={layout} index={i} />
          ))}
        </div>
      )
    );
    expect(host.querySelectorAll('circle').length).toBe(4);
    expect(host.querySelectorAll('circle.jp-BlackLake-mergeDot').length).toBe(1);
    expect(host.querySelectorAll('path.jp-BlackLake-lane').length).toBe(layout.segments.length);
  });
});

describe('WhyMatched', () => {
  it('lists matched terms, similarity and filters as text', () => {
    const hit = {
      uri: 'blacklake://r/main', score: 0.03, repo: 'r', ref: 'main', path: '', kind: 'model',
      name: 'm', size: 1, parameters: null, refs: ['main'], facts: {},
      why: {
        matched_terms: ['german', '<script>'],
        similarity: 0.5,
        keyword_evidence: 1,
        bm25_rank: 1,
        dense_rank: 2,
        facets: { language: ['de'] }
      }
    } as ISearchHit;
    act(() => root.render(<WhyMatched hit={hit} />));
    const marks = Array.from(host.querySelectorAll('mark')).map(m => m.textContent);
    expect(marks).toEqual(['german', '<script>']);
    expect(host.textContent).toContain('meaning 50% similar');
    expect(host.textContent).toContain('keyword rank 1');
    expect(host.textContent).toContain('filters: language=de');
    expect(host.querySelector('script')).toBeNull();
  });
});

import { IGraphCommit, layoutGraph, topoSort } from '../graph';

const c = (id: string, ...parents: string[]): IGraphCommit => ({ id, parents });

describe('layoutGraph', () => {
  it('puts a linear history in one lane', () => {
    const g = layoutGraph([c('c3', 'c2'), c('c2', 'c1'), c('c1')]);
    expect(g.rows.map(r => r.column)).toEqual([0, 0, 0]);
    expect(g.width).toBe(1);
    expect(g.segments).toEqual([
      { row: 0, from: 0, to: 0, color: 0 },
      { row: 1, from: 0, to: 0, color: 0 }
    ]);
  });

  it('draws a branch and its merge in a second lane', () => {
    // m merges f (feature) into b (main); both forked from a.
    const g = layoutGraph([c('m', 'b', 'f'), c('f', 'a'), c('b', 'a'), c('a')]);
    const col = Object.fromEntries(g.rows.map(r => [r.id, r.column]));
    expect(col).toEqual({ m: 0, f: 1, b: 0, a: 0 });
    expect(g.rows[0].merge).toBe(true);
    expect(g.width).toBe(2);
    // the merge's second parent leaves the dot for lane 1
    expect(g.segments).toContainEqual(expect.objectContaining({ row: 0, from: 0, to: 1 }));
    // the feature lane comes back into a's dot
    expect(g.segments).toContainEqual(expect.objectContaining({ row: 2, from: 1, to: 0 }));
    // nothing is left open after the root
    expect(g.segments.some(s => s.open)).toBe(false);
  });

  it('gives two branch heads their own lanes until they meet', () => {
    const g = layoutGraph([c('x2', 'x1'), c('y1', 'base'), c('x1', 'base'), c('base')]);
    const col = Object.fromEntries(g.rows.map(r => [r.id, r.column]));
    expect(col.x2).toBe(0);
    expect(col.y1).toBe(1);
    expect(col.x1).toBe(0);
    expect(col.base).toBe(0);
    expect(g.rows.find(r => r.id === 'y1')?.color).not.toBe(
      g.rows.find(r => r.id === 'x2')?.color
    );
  });

  it('leaves open stubs for parents not loaded yet', () => {
    const g = layoutGraph([c('c5', 'c4'), c('c4', 'c3')]);
    expect(g.segments.filter(s => s.open)).toEqual([
      { row: 1, from: 0, to: 0, color: 0, open: true }
    ]);
  });

  it('reuses the column of a finished lane', () => {
    const g = layoutGraph([
      c('m2', 'm1', 'g'),
      c('g', 'm0'),
      c('m1', 'm0'),
      c('m0', 'r'),
      c('h', 'r'),
      c('r')
    ]);
    // after the g lane ends at m0, the lane of h (a new head) takes column 1 again
    expect(g.rows.find(r => r.id === 'h')?.column).toBe(1);
    expect(g.width).toBe(2);
  });

  it('lays out 5,000 commits quickly', () => {
    const commits: IGraphCommit[] = [];
    for (let i = 5000; i > 0; i--) {
      commits.push(i % 50 === 0 ? c(`c${i}`, `c${i - 1}`, `s${i}`) : c(`c${i}`, `c${i - 1}`));
      if (i % 50 === 0) {
        commits.push(c(`s${i}`, `c${i - 3}`));
      }
    }
    const t0 = Date.now();
    const g = layoutGraph(topoSort(commits));
    expect(g.rows.length).toBe(commits.length);
    expect(Date.now() - t0).toBeLessThan(2000);
  });
});

describe('topoSort', () => {
  it('puts children before parents, newest first', () => {
    const commits = [
      { id: 'a', parents: [], time: '2026-01-01T00:00:00Z' },
      { id: 'b', parents: ['a'], time: '2026-01-02T00:00:00Z' },
      { id: 'f', parents: ['a'], time: '2026-01-03T00:00:00Z' },
      { id: 'b', parents: ['a'], time: '2026-01-02T00:00:00Z' },
      { id: 'm', parents: ['b', 'f'], time: '2026-01-04T00:00:00Z' }
    ];
    expect(topoSort(commits).map(x => x.id)).toEqual(['m', 'f', 'b', 'a']);
  });

  it('never places a parent before its child, even with skewed clocks', () => {
    const commits = [
      { id: 'p', parents: [], time: '2026-05-01T00:00:00Z' },
      { id: 'child', parents: ['p'], time: '2026-01-01T00:00:00Z' }
    ];
    expect(topoSort(commits).map(x => x.id)).toEqual(['child', 'p']);
  });
});

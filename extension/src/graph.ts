/**
 * Commit graph layout: lanes (columns) for a list of commits, newest first, computed from
 * their parents alone. Pure, so Jest checks it; `components/History.tsx` draws it as SVG.
 */

export interface IGraphCommit {
  id: string;
  parents: string[];
  time?: string;
}

/** A line between row `row` (at column `from`) and row `row + 1` (at column `to`). */
export interface ISegment {
  row: number;
  from: number;
  to: number;
  /** lane colour index */
  color: number;
  /** the lane continues below the last loaded row (history not loaded yet) */
  open?: boolean;
}

export interface IGraphRow {
  id: string;
  /** the column of the commit's dot */
  column: number;
  color: number;
  /** more than one parent */
  merge: boolean;
}

export interface IGraphLayout {
  rows: IGraphRow[];
  segments: ISegment[];
  /** number of columns used (the graph's width in lanes) */
  width: number;
}

interface ILane {
  /** the commit id this lane leads to */
  id: string;
  color: number;
  /** columns at the previous row the lane's lines start from */
  sources: number[];
}

/**
 * Assign each commit a column and list the line segments joining commits to their parents.
 *
 * Commits must be ordered children before parents (as `log` returns them, or as
 * `topoSort` makes them). Lanes keep their column while they live, a finished lane's column
 * is reused by the next new lane, and every lane waiting for a commit converges into its
 * dot (merges and forks are the lines that change column).
 */
export function layoutGraph(commits: IGraphCommit[]): IGraphLayout {
  const lanes: (ILane | null)[] = [];
  const rows: IGraphRow[] = [];
  const segments: ISegment[] = [];
  let nextColor = 0;
  let width = 0;

  const freeColumn = (): number => {
    const i = lanes.indexOf(null);
    return i >= 0 ? i : lanes.length;
  };

  commits.forEach((c, row) => {
    // 1. Where does this commit sit? The first lane waiting for it, or a new lane.
    let column = lanes.findIndex(l => l !== null && l.id === c.id);
    let color: number;
    if (column < 0) {
      column = freeColumn();
      color = nextColor++;
      lanes[column] = { id: c.id, color, sources: [] };
    } else {
      color = (lanes[column] as ILane).color;
    }
    // 2. Lines from the previous row into this one: each live lane's sources go to the
    //    lane's column, or to this commit's column if the lane was waiting for it.
    if (row > 0) {
      lanes.forEach((lane, k) => {
        if (lane === null) {
          return;
        }
        const to = lane.id === c.id ? column : k;
        for (const from of lane.sources) {
          segments.push({ row: row - 1, from, to, color: lane.color });
        }
      });
    }
    // 3. Lanes that waited for this commit end here (they merged into its dot).
    lanes.forEach((lane, k) => {
      if (lane !== null && lane.id === c.id && k !== column) {
        lanes[k] = null;
      }
    });
    // 4. Pass-through lanes continue straight down.
    lanes.forEach((lane, k) => {
      if (lane !== null && k !== column) {
        lane.sources = [k];
      }
    });
    // 5. The first parent continues this lane; other parents join a lane already waiting
    //    for them or start a new one.
    const [first, ...others] = c.parents;
    if (first !== undefined) {
      lanes[column] = { id: first, color, sources: [column] };
    } else {
      lanes[column] = null;
    }
    for (const p of others) {
      const k = lanes.findIndex(l => l !== null && l.id === p);
      if (k >= 0) {
        (lanes[k] as ILane).sources.push(column);
      } else {
        const n = freeColumn();
        lanes[n] = { id: p, color: nextColor++, sources: [column] };
      }
    }
    while (lanes.length && lanes[lanes.length - 1] === null) {
      lanes.pop();
    }
    width = Math.max(width, lanes.length, column + 1);
    rows.push({ id: c.id, column, color, merge: c.parents.length > 1 });
  });

  // Lanes still waiting after the last row lead to commits not loaded: draw open stubs.
  if (commits.length) {
    const last = commits.length - 1;
    lanes.forEach((lane, k) => {
      if (lane !== null) {
        for (const from of lane.sources) {
          segments.push({ row: last, from, to: k, color: lane.color, open: true });
        }
      }
    });
  }
  return { rows, segments, width };
}

/**
 * Order commits children-before-parents (needed when logs of several branches are merged),
 * newest first among commits whose children are all placed. Unknown parents are ignored.
 */
export function topoSort<T extends IGraphCommit>(commits: T[]): T[] {
  const byId = new Map<string, T>();
  for (const c of commits) {
    if (!byId.has(c.id)) {
      byId.set(c.id, c);
    }
  }
  const unique = [...byId.values()];
  const pendingChildren = new Map<string, number>();
  for (const c of unique) {
    pendingChildren.set(c.id, 0);
  }
  for (const c of unique) {
    for (const p of new Set(c.parents)) {
      if (byId.has(p)) {
        pendingChildren.set(p, (pendingChildren.get(p) ?? 0) + 1);
      }
    }
  }
  const time = (c: T) => (c.time ? Date.parse(c.time) || 0 : 0);
  const order = new Map(unique.map((c, i) => [c.id, i]));
  // newest first; ties keep the input order
  const better = (a: T, b: T) =>
    time(a) !== time(b)
      ? time(a) > time(b)
      : (order.get(a.id) as number) < (order.get(b.id) as number);
  const ready = unique.filter(c => pendingChildren.get(c.id) === 0);
  const out: T[] = [];
  while (ready.length) {
    let best = 0;
    for (let i = 1; i < ready.length; i++) {
      if (better(ready[i], ready[best])) {
        best = i;
      }
    }
    const c = ready.splice(best, 1)[0];
    out.push(c);
    for (const p of new Set(c.parents)) {
      if (!byId.has(p)) {
        continue;
      }
      const n = (pendingChildren.get(p) as number) - 1;
      pendingChildren.set(p, n);
      if (n === 0) {
        ready.push(byId.get(p) as T);
      }
    }
  }
  // A cycle cannot happen in a commit graph; keep anything left anyway.
  if (out.length < unique.length) {
    const placed = new Set(out.map(c => c.id));
    out.push(...unique.filter(c => !placed.has(c.id)));
  }
  return out;
}

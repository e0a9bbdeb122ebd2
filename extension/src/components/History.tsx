import React, { useEffect, useMemo, useState } from 'react';

import { IBlackLakeContext } from '../actions';
import { firstLine, formatTime, shortId } from '../format';
import { IGraphLayout, layoutGraph, topoSort } from '../graph';
import { IPanelState } from '../model';
import { ICommit } from '../types';
import { errorText } from './hooks';
import { RefSelect } from './Browse';
import { VirtualList } from './VirtualList';

const ROW = 40;
const LANE = 14;
const PALETTE = 8;
const PAGE = 100;

/** The graph cell of one row: its dot and the lines down to the next row. */
export function GraphCell(props: { layout: IGraphLayout; index: number }): JSX.Element {
  const { layout, index } = props;
  const row = layout.rows[index];
  const width = Math.max(1, layout.width) * LANE + 6;
  const x = (col: number) => 7 + col * LANE;
  const mid = ROW / 2;
  const lines = layout.segments.filter(s => s.row === index);
  return (
    <svg
      className="jp-BlackLake-graph"
      width={width}
      height={ROW}
      viewBox={`0 0 ${width} ${ROW}`}
      aria-hidden="true"
    >
      {lines.map((s, i) => {
        const x1 = x(s.from);
        const x2 = x(s.to);
        const y2 = s.open ? ROW : mid + ROW;
        const d =
          x1 === x2
            ? `M${x1},${mid} L${x2},${y2}`
            : `M${x1},${mid} C${x1},${mid + ROW * 0.6} ${x2},${mid + ROW * 0.4} ${x2},${y2}`;
        return (
          <path
            key={i}
            d={d}
            className={`jp-BlackLake-lane jp-BlackLake-lane-${s.color % PALETTE}${
              s.open ? ' jp-BlackLake-laneOpen' : ''
            }`}
          />
        );
      })}
      <circle
        cx={x(row.column)}
        cy={mid}
        r={row.merge ? 5 : 4}
        className={`jp-BlackLake-dot jp-BlackLake-lane-${row.color % PALETTE}${
          row.merge ? ' jp-BlackLake-mergeDot' : ''
        }`}
      />
    </svg>
  );
}

export function History(props: { ctx: IBlackLakeContext; state: IPanelState }): JSX.Element {
  const { ctx, state } = props;
  const { repo, repoDetail } = state;
  const ref = state.ref ?? repoDetail?.default_branch ?? '';
  const [all, setAll] = useState(true);
  const [perHead, setPerHead] = useState(new Map<string, { items: ICommit[]; more: boolean }>());
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [picked, setPicked] = useState<string[]>([]);
  const epoch = React.useRef(0);

  const branchKey = (repoDetail?.branches ?? []).map(b => `${b.name}:${b.commit}`).join(',');
  const heads = useMemo(
    () =>
      !repoDetail
        ? []
        : all
          ? Array.from(new Set([ref, ...repoDetail.branches.map(b => b.name)])).filter(Boolean)
          : [ref],
    [ref, all, branchKey]
  );

  /** Fetch the next page of every head that has more (all heads when starting over). */
  const fetchPages = (start: Map<string, { items: ICommit[]; more: boolean }>) => {
    if (!repo) {
      return;
    }
    const mine = epoch.current;
    const todo = heads.filter(h => !start.has(h) || start.get(h)!.more);
    setLoading(true);
    setError(null);
    Promise.all(
      todo.map(h =>
        ctx.api.log(repo, h, { offset: start.get(h)?.items.length ?? 0, limit: PAGE })
      )
    ).then(
      pages => {
        if (epoch.current !== mine) {
          return;
        }
        const next = new Map(start);
        pages.forEach((p, i) => {
          const prev = next.get(todo[i])?.items ?? [];
          next.set(todo[i], { items: prev.concat(p.items), more: !!p.has_more });
        });
        setPerHead(next);
        setLoading(false);
      },
      e => {
        if (epoch.current === mine) {
          setError(errorText(e));
          setLoading(false);
        }
      }
    );
  };

  useEffect(() => {
    setPicked([]);
  }, [repo, ref, all]);

  useEffect(() => {
    epoch.current++;
    const empty = new Map<string, { items: ICommit[]; more: boolean }>();
    setPerHead(empty);
    fetchPages(empty);
  }, [repo, heads, state.generation]);

  const commits = useMemo(
    () => topoSort([...perHead.values()].flatMap(p => p.items)),
    [perHead]
  );
  const hasMore = [...perHead.values()].some(p => p.more);

  const layout = useMemo(() => layoutGraph(commits), [commits]);

  if (!repo || !repoDetail) {
    return (
      <div className="jp-BlackLake-empty">Choose a repository in Browse to see its history.</div>
    );
  }
  const pick = (id: string) =>
    setPicked(prev =>
      prev.includes(id) ? prev.filter(x => x !== id) : [...prev, id].slice(-2)
    );
  const [a, b] = picked;
  // Compare older -> newer whatever the click order (rows are newest first).
  const ordered =
    a && b
      ? commits.findIndex(c => c.id === a) > commits.findIndex(c => c.id === b)
        ? [a, b]
        : [b, a]
      : [];
  return (
    <div className="jp-BlackLake-history jp-BlackLake-grow">
      <div className="jp-BlackLake-refBar">
        <RefSelect detail={repoDetail} value={ref} onChange={r => ctx.model.selectRef(r)} />
        <label className="jp-BlackLake-check" title="Show every branch in the graph">
          <input type="checkbox" checked={all} onChange={e => setAll(e.target.checked)} /> all
          branches
        </label>
      </div>
      <div className="jp-BlackLake-pickBar">
        {picked.length < 2 ? (
          <span className="jp-BlackLake-muted">
            Select two commits to compare ({picked.length}/2)
          </span>
        ) : (
          <button
            className="jp-BlackLake-button jp-mod-accept jp-BlackLake-compareButton"
            onClick={() => ctx.model.requestCompare(ordered[0], ordered[1])}
          >
            Compare {shortId(ordered[0])} → {shortId(ordered[1])}
          </button>
        )}
        {picked.length ? (
          <button className="jp-BlackLake-linkButton" onClick={() => setPicked([])}>
            clear
          </button>
        ) : null}
      </div>
      {error ? <div className="jp-BlackLake-error">{error}</div> : null}
      {loading && !commits.length ? <div className="jp-BlackLake-muted">Loading…</div> : null}
      <VirtualList
        className="jp-BlackLake-commits"
        ariaLabel="Commits"
        items={commits}
        rowHeight={ROW}
        overscan={10}
        rowKey={c => c.id}
        renderRow={(c, i) => {
          const sel = picked.indexOf(c.id);
          return (
            <div
              role="listitem"
              className={`jp-BlackLake-commit${sel >= 0 ? ' jp-mod-selected' : ''}`}
              data-commit={c.id}
              onClick={() => pick(c.id)}
              title={c.message}
            >
              <GraphCell layout={layout} index={i} />
              <div className="jp-BlackLake-commitText">
                <div className="jp-BlackLake-commitLine">
                  {sel >= 0 ? (
                    <span className="jp-BlackLake-pick">{sel === 0 ? 'A' : 'B'}</span>
                  ) : null}
                  {(c.refs ?? []).map(r => (
                    <span
                      key={`${r.kind}:${r.name}`}
                      className={`jp-BlackLake-badge jp-BlackLake-ref-${r.kind}`}
                    >
                      {r.name}
                    </span>
                  ))}
                  <span className="jp-BlackLake-commitMsg">{firstLine(c.message)}</span>
                </div>
                <div className="jp-BlackLake-muted jp-BlackLake-commitSub">
                  <span className="jp-BlackLake-commitId">{shortId(c.id)}</span> {c.author} ·{' '}
                  {formatTime(c.time)}
                  <button
                    className="jp-BlackLake-linkButton"
                    title="Browse the files at this commit"
                    onClick={ev => {
                      ev.stopPropagation();
                      ctx.model.update({ ref: c.id, tab: 'browse' });
                    }}
                  >
                    browse
                  </button>
                </div>
              </div>
            </div>
          );
        }}
      />
      {hasMore ? (
        <button
          className="jp-BlackLake-linkButton jp-BlackLake-padded"
          onClick={() => fetchPages(perHead)}
          disabled={loading}
        >
          {loading ? 'Loading…' : 'Older commits…'}
        </button>
      ) : null}
    </div>
  );
}

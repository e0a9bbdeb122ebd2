import React, { useEffect, useState } from 'react';

import { IBlackLakeContext } from '../actions';
import { formatBytes, formatValue, parseUnifiedDiff, shortId } from '../format';
import { IPanelState } from '../model';
import { IDiff, IDiffEntry, IModifiedEntry, Meta } from '../types';
import { errorText } from './hooks';

/** `main (1a2b3c4d)`, or just the short id when the ref is the commit id itself. */
function refLabel(ref: string, commit: string): string {
  return commit.startsWith(ref) ? shortId(commit) : `${ref} (${shortId(commit)})`;
}

/** A unified diff as coloured lines (text only). */
export function TextDiff(props: { text: string }): JSX.Element {
  const lines = parseUnifiedDiff(props.text);
  return (
    <pre className="jp-BlackLake-textDiff">
      {lines.map((l, i) => (
        <div key={i} className={`jp-BlackLake-diff-${l.kind}`}>
          {l.text || ' '}
        </div>
      ))}
    </pre>
  );
}

/** Keys whose values differ between two metadata maps, as [key, before, after]. */
export function metaChanges(before: Meta, after: Meta): [string, string, string][] {
  const keys = Array.from(new Set([...Object.keys(before), ...Object.keys(after)])).sort();
  return keys
    .filter(k => JSON.stringify(before[k]) !== JSON.stringify(after[k]))
    .map(k => [k, formatValue(before[k]), formatValue(after[k])]);
}

function ChangeTable(props: { rows: [string, string, string][]; title: string }): JSX.Element | null {
  if (!props.rows.length) {
    return null;
  }
  return (
    <table className="jp-BlackLake-changeTable" data-table={props.title}>
      <thead>
        <tr>
          <th>{props.title}</th>
          <th>before</th>
          <th>after</th>
        </tr>
      </thead>
      <tbody>
        {props.rows.map(([k, a, b]) => (
          <tr key={k}>
            <th>{k}</th>
            <td className="jp-BlackLake-diff-del">{a}</td>
            <td className="jp-BlackLake-diff-add">{b}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Modified(props: { e: IModifiedEntry }): JSX.Element {
  const { e } = props;
  const [open, setOpen] = useState(false);
  const facts = Object.entries(e.facts_diff ?? {}).map(
    ([k, [a, b]]) => [k, formatValue(a), formatValue(b)] as [string, string, string]
  );
  const meta = metaChanges(e.before.meta, e.meta);
  return (
    <div className="jp-BlackLake-diffItem jp-BlackLake-modified" data-path={e.path}>
      <div className="jp-BlackLake-diffHead" onClick={() => setOpen(!open)}>
        <span className="jp-BlackLake-caret">{open ? '▾' : '▸'}</span>
        <span className="jp-BlackLake-diffMark">M</span>
        <span className="jp-BlackLake-name" title={e.path}>
          {e.path}
        </span>
        <span className="jp-BlackLake-muted">
          {e.changes.join(' + ')} · {e.size_delta >= 0 ? '+' : ''}
          {formatBytes(e.size_delta)}
        </span>
      </div>
      {open ? (
        <div className="jp-BlackLake-diffBody">
          <div className="jp-BlackLake-muted">
            {formatBytes(e.before.size)} → {formatBytes(e.size)}
            {e.asset ? ` · part of ${e.asset}` : ''}
          </div>
          <ChangeTable title="metadata" rows={meta} />
          <ChangeTable title="model facts" rows={facts} />
          {e.text_diff ? <TextDiff text={e.text_diff} /> : null}
          {!e.text_diff && e.changes.includes('content') ? (
            <div className="jp-BlackLake-muted">Binary or large file: no text diff.</div>
          ) : null}
        </div>
      ) : null}
    </div>
  );
}

function Simple(props: { e: IDiffEntry; mark: 'A' | 'D' }): JSX.Element {
  const { e, mark } = props;
  return (
    <div
      className={`jp-BlackLake-diffItem jp-BlackLake-${mark === 'A' ? 'added' : 'removed'}`}
      data-path={e.path}
    >
      <div className="jp-BlackLake-diffHead">
        <span className="jp-BlackLake-caret" />
        <span className="jp-BlackLake-diffMark">{mark}</span>
        <span className="jp-BlackLake-name" title={e.path}>
          {e.path}
        </span>
        <span className="jp-BlackLake-muted">{formatBytes(e.size)}</span>
      </div>
    </div>
  );
}

export function Compare(props: { ctx: IBlackLakeContext; state: IPanelState }): JSX.Element {
  const { ctx, state } = props;
  const { repo, repoDetail } = state;
  const [a, setA] = useState('');
  const [b, setB] = useState('');
  const [path, setPath] = useState('');
  const [diff, setDiff] = useState<IDiff | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);

  const run = (ra: string, rb: string, p: string, offset = 0) => {
    if (!repo || !ra || !rb) {
      return;
    }
    setLoading(true);
    setError(null);
    ctx.api.diff(repo, ra, rb, { path: p, offset, limit: 200 }).then(
      d => {
        setDiff(prev =>
          offset && prev
            ? {
                ...d,
                added: prev.added.concat(d.added),
                removed: prev.removed.concat(d.removed),
                modified: prev.modified.concat(d.modified)
              }
            : d
        );
        setLoading(false);
      },
      e => {
        setError(errorText(e));
        setLoading(false);
      }
    );
  };

  // A request from History or a file's details: fill in and run.
  useEffect(() => {
    const req = state.compare;
    if (req) {
      setA(req.a);
      setB(req.b);
      setPath(req.path);
      run(req.a, req.b, req.path);
    }
  }, [state.compare?.nonce]);

  useEffect(() => {
    if (!state.compare) {
      const def = repoDetail?.default_branch ?? '';
      const other = repoDetail?.branches.find(x => x.name !== def)?.name ?? '';
      setA(def);
      setB(other);
    }
    setDiff(null);
  }, [repo]);

  if (!repo || !repoDetail) {
    return (
      <div className="jp-BlackLake-empty">Choose a repository in Browse to compare its commits.</div>
    );
  }
  const refNames = [
    ...repoDetail.branches.map(x => x.name),
    ...repoDetail.tags.map(x => x.name),
    ...repoDetail.aliases.map(x => x.name)
  ];
  const shown = diff ? diff.added.length + diff.removed.length + diff.modified.length : 0;
  return (
    <div className="jp-BlackLake-compare jp-BlackLake-grow">
      <form
        className="jp-BlackLake-compareForm"
        onSubmit={e => {
          e.preventDefault();
          run(a, b, path);
        }}
      >
        <datalist id="jp-BlackLake-refs">
          {refNames.map(n => (
            <option key={n} value={n} />
          ))}
        </datalist>
        <label>
          <span>A (before)</span>
          <input
            className="jp-mod-styled"
            name="a"
            list="jp-BlackLake-refs"
            value={a}
            onChange={e => setA(e.target.value)}
            placeholder="branch, tag or commit"
          />
        </label>
        <label>
          <span>B (after)</span>
          <input
            className="jp-mod-styled"
            name="b"
            list="jp-BlackLake-refs"
            value={b}
            onChange={e => setB(e.target.value)}
            placeholder="branch, tag or commit"
          />
        </label>
        <label>
          <span>Path</span>
          <input
            className="jp-mod-styled"
            name="path"
            value={path}
            onChange={e => setPath(e.target.value)}
            placeholder="(whole repository)"
          />
        </label>
        <div className="jp-BlackLake-actions">
          <button type="submit" className="jp-BlackLake-button jp-mod-accept" disabled={!a || !b}>
            Compare
          </button>
          <button
            type="button"
            className="jp-BlackLake-button"
            onClick={() => {
              setA(b);
              setB(a);
              run(b, a, path);
            }}
            disabled={!a || !b}
          >
            Swap
          </button>
        </div>
      </form>
      {error ? <div className="jp-BlackLake-error">{error}</div> : null}
      {loading && !diff ? <div className="jp-BlackLake-muted">Comparing…</div> : null}
      {diff ? (
        <div className="jp-BlackLake-diff">
          <div className="jp-BlackLake-diffSummary">
            <span title={diff.a.commit}>{refLabel(diff.a.ref, diff.a.commit)}</span> →{' '}
            <span title={diff.b.commit}>{refLabel(diff.b.ref, diff.b.commit)}</span>
            <div>
              <span className="jp-BlackLake-diffCount jp-BlackLake-diff-add">
                +{diff.counts.added} added
              </span>{' '}
              <span className="jp-BlackLake-diffCount jp-BlackLake-diff-del">
                −{diff.counts.removed} removed
              </span>{' '}
              <span className="jp-BlackLake-diffCount jp-BlackLake-diff-mod">
                ~{diff.counts.modified} modified
              </span>
            </div>
          </div>
          {diff.total === 0 ? (
            <div className="jp-BlackLake-muted">No differences.</div>
          ) : null}
          <div className="jp-BlackLake-diffList">
            {diff.modified.map(e => (
              <Modified key={`m:${e.path}`} e={e} />
            ))}
            {diff.added.map(e => (
              <Simple key={`a:${e.path}`} e={e} mark="A" />
            ))}
            {diff.removed.map(e => (
              <Simple key={`d:${e.path}`} e={e} mark="D" />
            ))}
            {diff.has_more ? (
              <button
                className="jp-BlackLake-linkButton"
                disabled={loading}
                onClick={() => run(diff.a.ref, diff.b.ref, diff.path, shown)}
              >
                {loading ? 'Loading…' : `${diff.total - shown} more changes…`}
              </button>
            ) : null}
          </div>
        </div>
      ) : null}
    </div>
  );
}

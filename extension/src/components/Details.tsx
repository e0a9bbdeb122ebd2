import React, { useEffect, useRef, useState } from 'react';

import { copyURI, IBlackLakeContext, insertSnippet } from '../actions';
import {
  firstLine,
  formatBytes,
  formatCount,
  formatFromPath,
  formatTime,
  formatValue,
  makeURI,
  shortId
} from '../format';
import { ICommit, IFileInfo, Meta } from '../types';
import { errorText, useAsync } from './hooks';
import { SafetyVerdict } from './Safety';
import { SimilarList } from './Similar';

/** A key/value table of JSON values (every value shown as text). */
export function FactsTable(props: { facts: Meta; className?: string }): JSX.Element {
  const keys = Object.keys(props.facts).sort();
  if (!keys.length) {
    return <div className="jp-BlackLake-muted">none</div>;
  }
  return (
    <table className={`jp-BlackLake-facts ${props.className ?? ''}`}>
      <tbody>
        {keys.map(k => {
          const v = props.facts[k];
          const nested = v !== null && typeof v === 'object' && !Array.isArray(v);
          return (
            <tr key={k} data-key={k}>
              <th>{k}</th>
              <td>
                {nested ? (
                  <pre className="jp-BlackLake-json">{JSON.stringify(v, null, 2)}</pre>
                ) : (
                  formatValue(v)
                )}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

/** Model-card markdown rendered by the safe renderer (see card.ts). */
export function ModelCard(props: {
  ctx: IBlackLakeContext;
  markdown: string;
}): JSX.Element {
  const host = useRef<HTMLDivElement>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (host.current) {
      props.ctx.renderCard(host.current, props.markdown).catch(e => setError(errorText(e)));
    }
  }, [props.markdown]);
  return (
    <>
      {error ? <div className="jp-BlackLake-error">{error}</div> : null}
      <div ref={host} className="jp-BlackLake-card jp-RenderedHTMLCommon" />
    </>
  );
}

/** The commits that touched a path, with "compare with parent". */
function PathHistory(props: {
  ctx: IBlackLakeContext;
  repo: string;
  at: string;
  path: string;
}): JSX.Element {
  const { ctx, repo, at: ref, path } = props;
  const [commits, setCommits] = useState<ICommit[]>([]);
  const [more, setMore] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const load = (offset: number) => {
    setLoading(true);
    ctx.api.log(repo, ref, { path, offset, limit: 20 }).then(
      page => {
        setCommits(prev => (offset === 0 ? page.items : prev.concat(page.items)));
        setMore(!!page.has_more);
        setLoading(false);
      },
      e => {
        setError(errorText(e));
        setLoading(false);
      }
    );
  };
  useEffect(() => load(0), [repo, ref, path]);
  return (
    <div className="jp-BlackLake-pathHistory">
      {error ? <div className="jp-BlackLake-error">{error}</div> : null}
      {commits.map(c => (
        <div className="jp-BlackLake-commitRow" key={c.id} data-commit={c.id}>
          <span className="jp-BlackLake-commitId" title={c.id}>
            {shortId(c.id)}
          </span>
          <span className="jp-BlackLake-commitMsg" title={c.message}>
            {firstLine(c.message)}
          </span>
          <span className="jp-BlackLake-muted">
            {c.author} · {formatTime(c.time)}
          </span>
          {c.parents.length ? (
            <button
              className="jp-BlackLake-linkButton"
              title="What this commit changed in this path"
              onClick={() => ctx.model.requestCompare(c.parents[0], c.id, path)}
            >
              changes
            </button>
          ) : null}
        </div>
      ))}
      {loading ? <div className="jp-BlackLake-muted">Loading…</div> : null}
      {more && !loading ? (
        <button className="jp-BlackLake-linkButton" onClick={() => load(commits.length)}>
          Older commits…
        </button>
      ) : null}
      {!loading && !commits.length && !error ? (
        <div className="jp-BlackLake-muted">No commits touch this path.</div>
      ) : null}
    </div>
  );
}

function Section(props: {
  title: string;
  children: React.ReactNode;
  name: string;
  open?: boolean;
}): JSX.Element {
  return (
    <details className="jp-BlackLake-detailSection" data-section={props.name} open={props.open ?? true}>
      <summary>{props.title}</summary>
      <div className="jp-BlackLake-detailBody">{props.children}</div>
    </details>
  );
}

/** Everything about one file or directory at a ref. */
export function Details(props: {
  ctx: IBlackLakeContext;
  repo: string;
  at: string;
  path: string;
}): JSX.Element {
  const { ctx, repo, at: ref, path } = props;
  const [showSimilar, setShowSimilar] = useState(false);
  const info = useAsync<IFileInfo>(() => ctx.api.file(repo, ref, path), [repo, ref, path]);
  if (info.error) {
    return (
      <div className="jp-BlackLake-details">
        <div className="jp-BlackLake-error">{errorText(info.error)}</div>
        <button className="jp-BlackLake-button" onClick={info.reload}>
          Retry
        </button>
      </div>
    );
  }
  const f = info.data;
  if (!f) {
    return <div className="jp-BlackLake-details jp-BlackLake-muted">Loading…</div>;
  }
  const uri = f.uri || makeURI(repo, ref, path);
  const asset = f.asset;
  const assetFormat = asset ? String(asset.facts['format'] ?? '') || null : null;
  // The loader follows the asset's format for the asset itself, else the file's own suffix
  // (a CSV inside a dataset folder loads as CSV).
  const format =
    asset && asset.path === f.path ? assetFormat : f.kind === 'file' ? formatFromPath(f.path) : null;
  const isReadme = f.readme !== null && f.readme.path === f.path;
  return (
    <div className="jp-BlackLake-details" data-uri={uri}>
      <div className="jp-BlackLake-detailHeader">
        <h2 className="jp-BlackLake-title">
          {asset ? asset.name || f.name || repo : f.name || repo}
        </h2>
        <div className="jp-BlackLake-badges">
          {asset ? <span className="jp-BlackLake-badge jp-BlackLake-kind">{asset.kind}</span> : null}
          <span className="jp-BlackLake-badge">{f.kind === 'dir' ? 'folder' : 'file'}</span>
          {assetFormat ? <span className="jp-BlackLake-badge">{assetFormat}</span> : null}
          {asset?.parameters ? (
            <span className="jp-BlackLake-badge">{formatCount(asset.parameters)} parameters</span>
          ) : null}
          <span className="jp-BlackLake-badge">{formatBytes(f.size)}</span>
        </div>
        {f.kind === 'file' ? <SafetyVerdict of={f} /> : null}
        <code className="jp-BlackLake-uri" title="blacklake:// URI">
          {uri}
        </code>
        <div className="jp-BlackLake-muted">
          {repo} @ {ref} ({shortId(f.commit)})
        </div>
        <div className="jp-BlackLake-actions">
          <button className="jp-BlackLake-button" onClick={() => copyURI(uri)}>
            Copy URI
          </button>
          <button
            className="jp-BlackLake-button"
            title="Insert code that loads this into the active notebook"
            onClick={() =>
              insertSnippet(ctx, {
                repo,
                ref,
                path,
                kind: f.kind,
                format
              })
            }
          >
            Insert into notebook
          </button>
          {f.kind === 'file' ? (
            <button
              className="jp-BlackLake-button"
              title="Stored files that share chunks with this one, and related models"
              onClick={() => setShowSimilar(true)}
            >
              Similar models
            </button>
          ) : null}
          <button
            className="jp-BlackLake-button"
            title="Where this came from and what came of it"
            onClick={() => ctx.model.requestLineage(uri)}
          >
            Lineage
          </button>
        </div>
        {f.deprecation ? (
          <div className="jp-BlackLake-warning">
            Deprecated: {formatValue(f.deprecation['reason'] ?? '')}
            {f.deprecation['sunset'] ? ` (sunset ${formatValue(f.deprecation['sunset'])})` : ''}
          </div>
        ) : null}
      </div>
      {showSimilar ? (
        <Section title="Similar models" name="similar">
          <SimilarList ctx={ctx} uri={uri} />
        </Section>
      ) : null}
      {f.readme ? (
        <Section title={isReadme ? 'Rendered' : 'Model card'} name="card">
          <ModelCard ctx={ctx} markdown={f.readme.text} />
          {f.readme.truncated ? (
            <div className="jp-BlackLake-muted">(truncated)</div>
          ) : null}
        </Section>
      ) : null}
      {asset ? (
        <Section title="Model facts" name="facts">
          {asset.path !== f.path ? (
            <div className="jp-BlackLake-muted">
              Part of the {asset.kind} “{asset.name}” at{' '}
              <code>{asset.path || '(repository root)'}</code>
            </div>
          ) : null}
          <FactsTable facts={asset.facts} />
        </Section>
      ) : null}
      <Section title="Metadata" name="metadata">
        <FactsTable
          facts={{
            path: f.path || '/',
            size: formatBytes(f.size),
            ...(f.kind === 'dir' ? { files: f.nfiles ?? null } : {}),
            ...(f.sha256 ? { sha256: f.sha256 } : {}),
            id: f.id,
            commit: f.commit,
            ...f.meta
          }}
        />
      </Section>
      {f.text && f.content !== null && !isReadme ? (
        <Section title="Preview" name="preview">
          <pre className="jp-BlackLake-preview">{f.content.slice(0, 20000)}</pre>
          {f.content.length > 20000 || f.content_truncated ? (
            <div className="jp-BlackLake-muted">(truncated)</div>
          ) : null}
        </Section>
      ) : null}
      <Section title="History of this path" name="history">
        <PathHistory ctx={ctx} repo={repo} at={ref} path={path} />
      </Section>
    </div>
  );
}

import React from 'react';

import {
  copyURI,
  createBranch,
  createTag,
  IBlackLakeContext,
  merge,
  moveAlias
} from '../actions';
import { formatBytes, makeURI, plural, shortId } from '../format';
import { IPanelState } from '../model';
import { IRepoDetail } from '../types';
import { FileTree } from './FileTree';
import { VirtualList } from './VirtualList';

/** The repositories of the store. */
function RepoList(props: { ctx: IBlackLakeContext; state: IPanelState }): JSX.Element {
  const { ctx, state } = props;
  return (
    <div className="jp-BlackLake-section jp-BlackLake-grow">
      <div className="jp-BlackLake-sectionTitle">
        Repositories <span className="jp-BlackLake-count">{state.reposTotal}</span>
      </div>
      <VirtualList
        className="jp-BlackLake-repoList"
        ariaLabel="Repositories"
        items={state.repos}
        rowHeight={44}
        rowKey={r => r.name}
        renderRow={r => (
          <div
            role="listitem"
            className="jp-BlackLake-repoItem"
            data-repo={r.name}
            title={r.name}
            onClick={() => void ctx.model.selectRepo(r.name)}
          >
            <div className="jp-BlackLake-repoName">{r.name}</div>
            <div className="jp-BlackLake-repoDesc">{r.description || '—'}</div>
          </div>
        )}
      />
    </div>
  );
}

/** Branch / tag / alias picker (plus the ref typed in, e.g. a commit id). */
export function RefSelect(props: {
  detail: IRepoDetail;
  value: string;
  onChange: (ref: string) => void;
  label?: string;
  className?: string;
}): JSX.Element {
  const { detail, value } = props;
  const known = new Set([
    ...detail.branches.map(b => b.name),
    ...detail.tags.map(t => t.name),
    ...detail.aliases.map(a => a.name)
  ]);
  return (
    <select
      className={`jp-mod-styled jp-BlackLake-refSelect ${props.className ?? ''}`}
      aria-label={props.label ?? 'Branch or tag'}
      value={value}
      onChange={e => props.onChange(e.target.value)}
    >
      {!known.has(value) ? <option value={value}>commit {shortId(value)}</option> : null}
      <optgroup label="Branches">
        {detail.branches.map(b => (
          <option key={`b:${b.name}`} value={b.name}>
            {b.name}
          </option>
        ))}
      </optgroup>
      {detail.tags.length ? (
        <optgroup label="Tags">
          {detail.tags.map(t => (
            <option key={`t:${t.name}`} value={t.name}>
              {t.name}
            </option>
          ))}
        </optgroup>
      ) : null}
      {detail.aliases.length ? (
        <optgroup label="Aliases">
          {detail.aliases.map(a => (
            <option key={`a:${a.name}`} value={a.name}>
              {a.name}
              {a.label ? ` → ${a.label}` : ''}
            </option>
          ))}
        </optgroup>
      ) : null}
    </select>
  );
}

export function Browse(props: { ctx: IBlackLakeContext; state: IPanelState }): JSX.Element {
  const { ctx, state } = props;
  const [selected, setSelected] = React.useState<string | null>(null);
  if (state.repo === null || state.repoDetail === null) {
    return <RepoList ctx={ctx} state={state} />;
  }
  const detail = state.repoDetail;
  const repo = state.repo;
  const ref = state.ref ?? detail.default_branch ?? '';
  const headOf = (name: string) =>
    [...detail.branches, ...detail.tags, ...detail.aliases].find(r => r.name === name)
      ?.commit;
  const head = headOf(ref) ?? ref;
  return (
    <div className="jp-BlackLake-browse jp-BlackLake-grow">
      <div className="jp-BlackLake-crumbs">
        <button
          className="jp-BlackLake-linkButton"
          onClick={() => void ctx.model.selectRepo(null)}
          title="All repositories"
        >
          Repositories
        </button>
        <span className="jp-BlackLake-sep">/</span>
        <span className="jp-BlackLake-crumbRepo" title={detail.description}>
          {repo}
        </span>
      </div>
      {detail.description ? (
        <div className="jp-BlackLake-repoDesc jp-BlackLake-padded">{detail.description}</div>
      ) : null}
      <div className="jp-BlackLake-refBar">
        <RefSelect
          detail={detail}
          value={ref}
          onChange={r => {
            setSelected(null);
            ctx.model.selectRef(r);
          }}
        />
        <span className="jp-BlackLake-commitId" title={head}>
          {shortId(head)}
        </span>
      </div>
      <div className="jp-BlackLake-refMeta">
        {plural(detail.stats?.commits ?? 0, 'commit')} ·{' '}
        {plural(detail.branches.length, 'branch', 'branches')} ·{' '}
        {plural(detail.tags.length, 'tag')}
        {detail.aliases.length ? ` · ${plural(detail.aliases.length, 'alias', 'aliases')}` : ''}
        {detail.stats?.head?.size != null
          ? ` · ${formatBytes(detail.stats.head.size)} on ${detail.stats.head.branch}`
          : ''}
      </div>
      <div className="jp-BlackLake-actions">
        <button
          className="jp-BlackLake-button"
          onClick={() => ctx.openDetails(repo, ref, '')}
          title="Details of the repository root at this ref (model card, facts, history)"
        >
          Details
        </button>
        <button
          className="jp-BlackLake-button"
          onClick={() => void createBranch(ctx, repo, ref)}
          title="Create a branch at this ref"
        >
          Branch…
        </button>
        <button
          className="jp-BlackLake-button"
          onClick={() => void createTag(ctx, repo, ref)}
          title="Tag this ref"
        >
          Tag…
        </button>
        <button
          className="jp-BlackLake-button"
          onClick={() => void merge(ctx, repo, ref)}
          title="Merge this ref into a branch"
        >
          Merge…
        </button>
        <button
          className="jp-BlackLake-button"
          onClick={() => void moveAlias(ctx, repo, ref)}
          title="Point an alias (e.g. champion) at this ref"
        >
          Alias…
        </button>
        <button
          className="jp-BlackLake-button"
          onClick={() => copyURI(makeURI(repo, ref))}
          title="Copy the blacklake:// URI of this ref"
        >
          Copy URI
        </button>
      </div>
      {detail.deployments && detail.deployments.length ? (
        <div className="jp-BlackLake-deployments">
          {detail.deployments.map((d, i) => (
            <span className="jp-BlackLake-badge" key={i} title={String(d.note ?? '')}>
              {String(d.env ?? d.environment ?? '?')}: {String(d.label ?? d.ref ?? shortId(String(d.commit ?? '')))}
            </span>
          ))}
        </div>
      ) : null}
      <FileTree
        api={ctx.api}
        repo={repo}
        at={ref}
        generation={state.generation}
        pageSize={ctx.treePageSize}
        selected={selected}
        onOpen={entry => {
          setSelected(entry.path);
          ctx.openDetails(repo, ref, entry.path);
        }}
      />
    </div>
  );
}

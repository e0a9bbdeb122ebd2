import { fileIcon, folderIcon } from '@jupyterlab/ui-components';
import React, { useCallback, useEffect, useRef, useState } from 'react';

import { BlackLakeAPI } from '../api';
import { formatBytes } from '../format';
import { IEntry } from '../types';
import { errorText } from './hooks';
import { SafetyBadge } from './Safety';
import { VirtualList } from './VirtualList';

/** One loaded directory: its entries so far and whether more pages exist. */
interface IDirState {
  items: IEntry[];
  total: number | null;
  hasMore: boolean;
  loading: boolean;
  error: string | null;
}

export type TreeRow =
  | { type: 'entry'; entry: IEntry; depth: number; expanded: boolean }
  | { type: 'more'; dir: string; depth: number; loading: boolean; remaining: number | null }
  | { type: 'error'; dir: string; depth: number; message: string };

/**
 * Flatten the loaded part of the tree into rows (pure: tested with Jest).
 * Each directory shows its loaded entries, then a "more" row while pages remain.
 */
export function flattenTree(
  dirs: Map<string, IDirState>,
  expanded: Set<string>,
  dir = '',
  depth = 0,
  out: TreeRow[] = []
): TreeRow[] {
  const state = dirs.get(dir);
  if (!state) {
    out.push({ type: 'more', dir, depth, loading: true, remaining: null });
    return out;
  }
  for (const entry of state.items) {
    const isOpen = entry.kind === 'dir' && expanded.has(entry.path);
    out.push({ type: 'entry', entry, depth, expanded: isOpen });
    if (isOpen) {
      flattenTree(dirs, expanded, entry.path, depth + 1, out);
    }
  }
  if (state.error) {
    out.push({ type: 'error', dir, depth, message: state.error });
  } else if (state.hasMore || state.loading) {
    out.push({
      type: 'more',
      dir,
      depth,
      loading: state.loading,
      remaining: state.total !== null ? state.total - state.items.length : null
    });
  }
  return out;
}

export interface IFileTreeProps {
  api: BlackLakeAPI;
  repo: string;
  /** the branch, tag, alias or commit shown ('ref' is reserved by React) */
  at: string;
  /** bumped when the store changed: reload */
  generation: number;
  pageSize: number;
  selected: string | null;
  onOpen: (entry: IEntry) => void;
}

const ROW_HEIGHT = 24;

/**
 * The file tree at a ref: directories load lazily when expanded, a page (offset/limit) at a
 * time as the user scrolls to their end, and only visible rows are rendered.
 */
export function FileTree(props: IFileTreeProps): JSX.Element {
  const { api, repo, at: ref, generation, pageSize } = props;
  const [dirs, setDirs] = useState(new Map<string, IDirState>());
  const [expanded, setExpanded] = useState(new Set<string>());
  const dirsRef = useRef(dirs);
  const epoch = useRef(0);

  /** All updates go through here, so `load` sees in-flight state at once. */
  const commit = (next: Map<string, IDirState>) => {
    dirsRef.current = next;
    setDirs(next);
  };

  const load = useCallback(
    (dir: string) => {
      const current = dirsRef.current.get(dir);
      if (current && (current.loading || (!current.hasMore && !current.error))) {
        return;
      }
      const mine = epoch.current;
      const base = current && !current.error ? current : null;
      const offset = base ? base.items.length : 0;
      const starting = new Map(dirsRef.current);
      starting.set(dir, {
        items: base?.items ?? [],
        total: base?.total ?? null,
        hasMore: true,
        loading: true,
        error: null
      });
      commit(starting);
      api.tree(repo, ref, dir, offset, pageSize).then(
        page => {
          if (epoch.current !== mine) {
            return;
          }
          const next = new Map(dirsRef.current);
          const items = (next.get(dir)?.items ?? []).concat(page.items);
          const total = page.total ?? null;
          const hasMore =
            page.has_more ?? (total !== null ? items.length < total : false);
          next.set(dir, { items, total, hasMore, loading: false, error: null });
          commit(next);
        },
        error => {
          if (epoch.current !== mine) {
            return;
          }
          const next = new Map(dirsRef.current);
          const before = next.get(dir);
          next.set(dir, {
            items: before?.items ?? [],
            total: before?.total ?? null,
            hasMore: false,
            loading: false,
            error: errorText(error)
          });
          commit(next);
        }
      );
    },
    [api, repo, ref, pageSize]
  );

  // A new repo/ref (or a store change): start again from the root, keeping open folders.
  useEffect(() => {
    epoch.current++;
    commit(new Map());
    load('');
  }, [repo, ref, generation, load]);

  useEffect(() => {
    setExpanded(new Set());
  }, [repo, ref]);

  // Re-load expanded directories after a reset.
  useEffect(() => {
    for (const dir of expanded) {
      if (!dirs.has(dir) && dirs.has('')) {
        load(dir);
      }
    }
  }, [dirs, expanded, load]);

  const rows = flattenTree(dirs, expanded);

  const toggle = (entry: IEntry) => {
    setExpanded(prev => {
      const next = new Set(prev);
      if (next.has(entry.path)) {
        next.delete(entry.path);
      } else {
        next.add(entry.path);
        if (!dirsRef.current.has(entry.path)) {
          load(entry.path);
        }
      }
      return next;
    });
  };

  // A "more" row scrolled into view loads the next page of its directory.
  const onRange = (start: number, end: number) => {
    for (let i = start; i < end && i < rows.length; i++) {
      const row = rows[i];
      if (row.type === 'more' && !row.loading) {
        load(row.dir);
      }
    }
  };

  if (rows.length === 0) {
    return <div className="jp-BlackLake-empty">This ref has no files.</div>;
  }
  return (
    <VirtualList
      className="jp-BlackLake-tree"
      role="tree"
      ariaLabel="Files"
      items={rows}
      rowHeight={ROW_HEIGHT}
      rowKey={row =>
        row.type === 'entry' ? `e:${row.entry.path}` : `${row.type}:${row.dir}`
      }
      onRange={onRange}
      renderRow={row => {
        const indent = { paddingLeft: 6 + row.depth * 14 };
        if (row.type === 'more') {
          return (
            <div className="jp-BlackLake-treeMore" style={indent}>
              {row.loading
                ? 'Loading…'
                : `${row.remaining ?? 'More'} more…`}
            </div>
          );
        }
        if (row.type === 'error') {
          return (
            <div className="jp-BlackLake-treeError" style={indent} title={row.message}>
              {row.message}
            </div>
          );
        }
        const e = row.entry;
        const isDir = e.kind === 'dir';
        return (
          <div
            role="treeitem"
            aria-expanded={isDir ? row.expanded : undefined}
            aria-selected={props.selected === e.path}
            className={`jp-BlackLake-treeItem${
              props.selected === e.path ? ' jp-mod-selected' : ''
            }`}
            style={indent}
            data-path={e.path}
            data-kind={e.kind}
            title={e.path}
            onClick={() => (isDir ? toggle(e) : props.onOpen(e))}
            onDoubleClick={() => isDir && props.onOpen(e)}
          >
            <span className="jp-BlackLake-caret">
              {isDir ? (row.expanded ? '▾' : '▸') : ''}
            </span>
            {isDir ? (
              <folderIcon.react tag="span" className="jp-BlackLake-icon" />
            ) : (
              <fileIcon.react tag="span" className="jp-BlackLake-icon" />
            )}
            <span className="jp-BlackLake-name">{e.name || e.path}</span>
            {e.asset ? (
              <span
                className="jp-BlackLake-badge jp-BlackLake-assetBadge"
                title="a model or dataset the search index knows"
              >
                card
              </span>
            ) : null}
            {isDir ? null : <SafetyBadge of={e} compact />}
            {isDir ? (
              <button
                className="jp-BlackLake-linkButton jp-BlackLake-dirDetails"
                title="Details of this folder"
                onClick={ev => {
                  ev.stopPropagation();
                  props.onOpen(e);
                }}
              >
                ⓘ
              </button>
            ) : null}
            <span className="jp-BlackLake-size">
              {isDir ? `${e.nfiles ?? ''} files` : formatBytes(e.size)}
            </span>
          </div>
        );
      }}
    />
  );
}

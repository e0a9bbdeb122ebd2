import { Clipboard, Notification } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookActions } from '@jupyterlab/notebook';

import { BlackLakeAPI } from './api';
import { formDialog, listDialog } from './dialogs';
import { ISnippetTarget, loadSnippet, shortId } from './format';
import { BlackLakeModel } from './model';
import { APIError } from './request';

/** Everything the views need to act: the API, the shared state and the app's services. */
export interface IBlackLakeContext {
  api: BlackLakeAPI;
  model: BlackLakeModel;
  /** open the details of a file or directory in the main area */
  openDetails(repo: string, ref: string, path: string): void;
  /** open a lineage graph full size in the main area */
  openLineage(uri: string): void;
  /** render model-card markdown safely into `host` (sanitised, or as plain text) */
  renderCard(host: HTMLElement, markdown: string): Promise<void>;
  /** the notebook tracker, if the notebook plugin is there */
  notebooks: INotebookTracker | null;
  treePageSize: number;
}

/** Show an API failure as a notification (the message is text, never markup). */
export function reportError(what: string, error: unknown): void {
  const message =
    error instanceof APIError
      ? error.message
      : String((error as Error)?.message ?? error);
  Notification.error(`${what}: ${message}`, { autoClose: 8000 });
}

export function copyURI(uri: string): void {
  Clipboard.copyToSystem(uri);
  Notification.success(`Copied ${uri}`, { autoClose: 3000 });
}

/**
 * Put the loading snippet into the active notebook: into the active cell if it is an empty
 * code cell, else into a new code cell below it. Without a notebook, copy it instead.
 */
export function insertSnippet(
  ctx: IBlackLakeContext,
  target: ISnippetTarget
): boolean {
  const home = ctx.model.state.status?.store?.['home'];
  const code = loadSnippet({
    ...target,
    home: typeof home === 'string' ? home : null
  });
  const panel = ctx.notebooks?.currentWidget ?? null;
  if (!panel || !panel.content.model) {
    Clipboard.copyToSystem(code);
    Notification.info(
      'No notebook is open: the snippet was copied to the clipboard.',
      { autoClose: 5000 }
    );
    return false;
  }
  const notebook = panel.content;
  const active = notebook.activeCell;
  const reuse =
    active !== null &&
    active.model.type === 'code' &&
    active.model.sharedModel.getSource().trim() === '';
  if (!reuse) {
    NotebookActions.insertBelow(notebook);
    if (notebook.activeCell && notebook.activeCell.model.type !== 'code') {
      NotebookActions.changeCellType(notebook, 'code');
    }
  }
  const cell = notebook.activeCell;
  if (!cell) {
    return false;
  }
  cell.model.sharedModel.setSource(code);
  ctx.notebooks?.currentWidget?.activate();
  Notification.success('Inserted a loading snippet into the notebook.', {
    autoClose: 3000
  });
  return true;
}

export async function createBranch(
  ctx: IBlackLakeContext,
  repo: string,
  from: string
): Promise<void> {
  const v = await formDialog(
    `New branch in ${repo}`,
    [
      { name: 'name', label: 'Branch name', placeholder: 'experiment' },
      { name: 'from', label: 'From (branch, tag or commit)', value: from }
    ],
    'Create'
  );
  if (!v || !v.name) {
    return;
  }
  try {
    const ref = await ctx.api.createBranch(repo, v.name, v.from || from);
    await ctx.model.reloadRepo();
    ctx.model.selectRef(ref.name);
    Notification.success(`Created branch ${ref.name} at ${shortId(ref.commit)}`, {
      autoClose: 4000
    });
  } catch (error) {
    reportError('Creating the branch failed', error);
  }
}

export async function createTag(
  ctx: IBlackLakeContext,
  repo: string,
  ref: string
): Promise<void> {
  const v = await formDialog(
    `New tag in ${repo}`,
    [
      { name: 'name', label: 'Tag name', placeholder: 'v1.1.0' },
      { name: 'ref', label: 'At (branch, tag or commit)', value: ref }
    ],
    'Create'
  );
  if (!v || !v.name) {
    return;
  }
  try {
    const tag = await ctx.api.createTag(repo, v.name, v.ref || ref);
    await ctx.model.reloadRepo();
    Notification.success(`Tagged ${shortId(tag.commit)} as ${tag.name}`, {
      autoClose: 4000
    });
  } catch (error) {
    reportError('Creating the tag failed', error);
  }
}

export async function merge(
  ctx: IBlackLakeContext,
  repo: string,
  source: string
): Promise<void> {
  const detail = ctx.model.state.repoDetail;
  const branches = (detail?.branches ?? []).map(
    b => [b.name, b.name] as [string, string]
  );
  const target =
    branches.find(([b]) => b !== source && b === detail?.default_branch)?.[0] ??
    branches.find(([b]) => b !== source)?.[0] ??
    '';
  const v = await formDialog(
    `Merge in ${repo}`,
    [
      {
        name: 'source',
        label: 'Merge (branch, tag or commit)',
        value: source
      },
      {
        name: 'target',
        label: 'Into branch',
        type: 'select',
        options: branches,
        value: target
      },
      { name: 'message', label: 'Message', placeholder: `Merge ${source}` },
      {
        name: 'strategy',
        label: 'On conflicts',
        type: 'select',
        options: [
          ['', 'stop and report them'],
          ['ours', 'keep the target’s version (ours)'],
          ['theirs', 'take the source’s version (theirs)']
        ],
        value: ''
      }
    ],
    'Merge'
  );
  if (!v || !v.source || !v.target) {
    return;
  }
  try {
    const result = await ctx.api.merge(
      repo,
      v.source,
      v.target,
      v.message || undefined,
      v.strategy || undefined
    );
    await ctx.model.reloadRepo();
    const how = !result.created
      ? 'already up to date'
      : result.fast_forward
        ? `fast-forward to ${shortId(result.commit)}`
        : `merge commit ${shortId(result.commit)}`;
    Notification.success(`Merged ${v.source} into ${v.target}: ${how}`, {
      autoClose: 5000
    });
  } catch (error) {
    if (error instanceof APIError && error.status === 409 && error.conflicts.length) {
      await listDialog(
        'Merge conflicts',
        `${v.source} and ${v.target} both changed these paths. Nothing was merged; ` +
          'merge again choosing "ours" or "theirs", or resolve them on a branch first.',
        error.conflicts
      );
    } else {
      reportError('The merge failed', error);
    }
  }
}

export async function moveAlias(
  ctx: IBlackLakeContext,
  repo: string,
  ref: string
): Promise<void> {
  const detail = ctx.model.state.repoDetail;
  const aliases = detail?.aliases ?? [];
  const v = await formDialog(
    `Move an alias in ${repo}`,
    [
      {
        name: 'name',
        label: 'Alias',
        value: aliases[0]?.name ?? '',
        placeholder: 'champion'
      },
      { name: 'ref', label: 'To (version, tag, branch or commit)', value: ref },
      { name: 'reason', label: 'Reason', placeholder: 'won the A/B test' }
    ],
    'Move',
    aliases.length
      ? `Existing aliases: ${aliases
          .map(a => `${a.name} → ${a.label ?? shortId(a.commit)}`)
          .join(', ')}`
      : 'This repository has no aliases yet: the name you give creates one.'
  );
  if (!v || !v.name || !v.ref) {
    return;
  }
  const current = aliases.find(a => a.name === v.name);
  try {
    const event = await ctx.api.setAlias(
      repo,
      v.name,
      v.ref,
      current?.commit,
      v.reason || undefined
    );
    await ctx.model.reloadRepo();
    Notification.success(
      event.action === 'unchanged'
        ? `${v.name} already points at ${v.ref}`
        : `${v.name} now points at ${event.to_label ?? shortId(event.to)}`,
      { autoClose: 4000 }
    );
  } catch (error) {
    if (error instanceof APIError && error.reason === 'RefConflict') {
      reportError(
        `${v.name} moved meanwhile (someone else changed it); refresh and try again`,
        error
      );
    } else {
      reportError('Moving the alias failed', error);
    }
  }
}

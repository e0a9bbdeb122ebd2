import { ISignal, Signal } from '@lumino/signaling';

import { BlackLakeAPI } from './api';
import { APIError } from './request';
import { IRepo, IRepoDetail, IStatus } from './types';

export type TabId = 'browse' | 'history' | 'compare' | 'search' | 'lineage';

export const TABS: { id: TabId; label: string }[] = [
  { id: 'browse', label: 'Browse' },
  { id: 'history', label: 'History' },
  { id: 'compare', label: 'Compare' },
  { id: 'search', label: 'Search' },
  { id: 'lineage', label: 'Lineage' }
];

/** What the panel shows: connection state, the chosen repository/ref and cross-tab requests. */
export interface IPanelState {
  /** 'loading' until the first status answer */
  connection: 'loading' | 'ok' | 'missing' | 'store-error' | 'offline';
  status: IStatus | null;
  error: APIError | null;
  repos: IRepo[];
  reposTotal: number;
  repo: string | null;
  repoDetail: IRepoDetail | null;
  /** the ref browsed (branch, tag, alias or commit id) */
  ref: string | null;
  tab: TabId;
  /** bumped whenever a refresh saw the store change: views reload their data */
  generation: number;
  /** last successful refresh (ms since epoch) */
  updated: number | null;
  compare: { a: string; b: string; path: string; nonce: number } | null;
  lineage: { uri: string; nonce: number } | null;
  similar: { uri: string; nonce: number } | null;
}

/** What a refresh compares to tell whether the store changed. */
function fingerprint(
  status: IStatus | null,
  repos: IRepo[],
  detail: IRepoDetail | null
): string {
  return JSON.stringify([
    status?.counts ?? null,
    repos.map(r => [r.name, r.description]),
    detail
      ? [
          detail.branches.map(b => [b.name, b.commit]),
          detail.tags.map(t => [t.name, t.commit]),
          detail.aliases.map(a => [a.name, a.commit])
        ]
      : null
  ]);
}

/**
 * The panel's state and the one refresh routine the poll runs. Views subscribe to
 * `changed`; `generation` tells them the store moved and cached data is stale.
 */
export class BlackLakeModel {
  constructor(readonly api: BlackLakeAPI) {}

  get changed(): ISignal<this, IPanelState> {
    return this._changed;
  }

  get state(): IPanelState {
    return this._state;
  }

  update(patch: Partial<IPanelState>): void {
    this._state = { ...this._state, ...patch };
    this._changed.emit(this._state);
  }

  /**
   * Refresh status, repositories and the chosen repository's refs.
   * Resolves to whether anything changed; rejects when the server cannot answer (the poll
   * backs off then).
   */
  async refresh(): Promise<boolean> {
    let status: IStatus;
    try {
      status = await this.api.status();
    } catch (error) {
      const e =
        error instanceof APIError
          ? error
          : new APIError(String(error), 0, 'Error');
      const connection = e.missingExtension ? 'missing' : 'offline';
      if (this._state.connection !== connection) {
        this.update({ connection, error: e });
      }
      throw e;
    }
    if (!status.ok) {
      const e = new APIError(
        status.error?.message ?? 'The BlackLake store could not be opened.',
        500,
        status.error?.reason ?? 'StoreError'
      );
      const fp = `store-error:${e.message}`;
      const changed = fp !== this._fingerprint;
      this._fingerprint = fp;
      this.update({ connection: 'store-error', status, error: e });
      return changed;
    }
    const page = await this.api.repos(0, 1000);
    let repo = this._state.repo;
    if (repo !== null && !page.items.some(r => r.name === repo)) {
      repo = null;
    }
    let detail: IRepoDetail | null = null;
    if (repo !== null) {
      detail = await this.api.repo(repo);
    }
    const fp = fingerprint(status, page.items, detail);
    const changed = fp !== this._fingerprint;
    this._fingerprint = fp;
    const patch: Partial<IPanelState> = {
      connection: 'ok',
      status,
      error: null,
      repos: page.items,
      reposTotal: page.total ?? page.items.length,
      repo,
      repoDetail: detail,
      updated: Date.now()
    };
    if (repo === null) {
      patch.ref = null;
    }
    if (changed) {
      patch.generation = this._state.generation + 1;
    }
    this.update(patch);
    return changed;
  }

  /** Choose a repository (null: back to the list); loads its refs. */
  async selectRepo(name: string | null): Promise<void> {
    if (name === null) {
      this._fingerprint = fingerprint(this._state.status, this._state.repos, null);
      this.update({ repo: null, repoDetail: null, ref: null });
      return;
    }
    const detail = await this.api.repo(name);
    const ref =
      detail.default_branch ??
      detail.branches[0]?.name ??
      detail.tags[0]?.name ??
      null;
    this._fingerprint = fingerprint(this._state.status, this._state.repos, detail);
    this.update({
      repo: name,
      repoDetail: detail,
      ref,
      generation: this._state.generation + 1
    });
  }

  /** Reload the chosen repository's refs (after creating a branch, merging, ...). */
  async reloadRepo(): Promise<void> {
    if (this._state.repo) {
      const detail = await this.api.repo(this._state.repo);
      this._fingerprint = fingerprint(this._state.status, this._state.repos, detail);
      this.update({
        repoDetail: detail,
        generation: this._state.generation + 1
      });
    }
  }

  selectRef(ref: string): void {
    this.update({ ref });
  }

  showTab(tab: TabId): void {
    this.update({ tab });
  }

  requestCompare(a: string, b: string, path = ''): void {
    this.update({
      tab: 'compare',
      compare: { a, b, path, nonce: ++this._nonce }
    });
  }

  requestLineage(uri: string): void {
    this.update({ tab: 'lineage', lineage: { uri, nonce: ++this._nonce } });
  }

  requestSimilar(uri: string): void {
    this.update({ tab: 'search', similar: { uri, nonce: ++this._nonce } });
  }

  private _state: IPanelState = {
    connection: 'loading',
    status: null,
    error: null,
    repos: [],
    reposTotal: 0,
    repo: null,
    repoDetail: null,
    ref: null,
    tab: 'browse',
    generation: 0,
    updated: null,
    compare: null,
    lineage: null,
    similar: null
  };
  private _fingerprint = '';
  private _nonce = 0;
  private _changed = new Signal<this, IPanelState>(this);
}

import { ServerConnection } from '@jupyterlab/services';

import { requestAPI } from './request';
import {
  IAliasEvent,
  IDiff,
  IFileInfo,
  ILineage,
  ILogPage,
  IMergeResult,
  IPage,
  IRef,
  IRepo,
  IRepoDetail,
  ISearchResult,
  ISimilarResult,
  IStatus,
  ITreePage
} from './types';

/** Query string from defined values; repeated keys from arrays (`filter=a&filter=b`). */
export function query(
  params: { [key: string]: string | number | boolean | string[] | undefined | null }
): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === '') {
      continue;
    }
    const values = Array.isArray(value) ? value : [value];
    for (const v of values) {
      parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(String(v))}`);
    }
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

const seg = encodeURIComponent;

/** Typed calls of every route the panel uses (all through `requestAPI`). */
export class BlackLakeAPI {
  constructor(readonly settings: ServerConnection.ISettings) {}

  private get<T>(endPoint: string): Promise<T> {
    return requestAPI<T>(endPoint, { method: 'GET' }, this.settings);
  }

  private send<T>(method: string, endPoint: string, body: unknown): Promise<T> {
    return requestAPI<T>(
      endPoint,
      { method, body: JSON.stringify(body) },
      this.settings
    );
  }

  status(): Promise<IStatus> {
    return this.get('status');
  }

  repos(offset = 0, limit = 1000): Promise<IPage<IRepo>> {
    return this.get(`repos${query({ offset, limit })}`);
  }

  repo(repo: string): Promise<IRepoDetail> {
    return this.get(`repos/${seg(repo)}`);
  }

  tree(
    repo: string,
    ref: string,
    path: string,
    offset: number,
    limit: number
  ): Promise<ITreePage> {
    return this.get(
      `repos/${seg(repo)}/tree/${seg(ref)}${query({ path, offset, limit })}`
    );
  }

  file(repo: string, ref: string, path: string): Promise<IFileInfo> {
    return this.get(`repos/${seg(repo)}/file/${seg(ref)}${query({ path })}`);
  }

  log(
    repo: string,
    ref: string,
    opts: { path?: string; offset?: number; limit?: number } = {}
  ): Promise<ILogPage> {
    return this.get(
      `repos/${seg(repo)}/log/${seg(ref)}${query({
        path: opts.path,
        offset: opts.offset ?? 0,
        limit: opts.limit ?? 100
      })}`
    );
  }

  diff(
    repo: string,
    a: string,
    b: string,
    opts: { path?: string; offset?: number; limit?: number } = {}
  ): Promise<IDiff> {
    return this.get(
      `repos/${seg(repo)}/diff${query({
        a,
        b,
        path: opts.path,
        offset: opts.offset ?? 0,
        limit: opts.limit ?? 200
      })}`
    );
  }

  createBranch(repo: string, name: string, from: string): Promise<IRef> {
    return this.send('POST', `repos/${seg(repo)}/branches`, { name, from });
  }

  createTag(repo: string, name: string, ref: string): Promise<IRef> {
    return this.send('POST', `repos/${seg(repo)}/tags`, { name, ref });
  }

  merge(
    repo: string,
    source: string,
    target: string,
    message?: string,
    strategy?: string
  ): Promise<IMergeResult> {
    const body: { [key: string]: string } = { source, target };
    if (message) {
      body.message = message;
    }
    if (strategy) {
      body.strategy = strategy;
    }
    return this.send('POST', `repos/${seg(repo)}/merge`, body);
  }

  setAlias(
    repo: string,
    name: string,
    ref: string,
    expect?: string,
    reason?: string
  ): Promise<IAliasEvent> {
    const body: { [key: string]: string } = { ref };
    if (expect) {
      body.expect = expect;
    }
    if (reason) {
      body.reason = reason;
    }
    return this.send('PUT', `repos/${seg(repo)}/aliases/${seg(name)}`, body);
  }

  search(
    q: string,
    opts: {
      repo?: string;
      filters?: string[];
      mode?: string;
      offset?: number;
      limit?: number;
    } = {}
  ): Promise<ISearchResult> {
    return this.get(
      `search${query({
        q,
        repo: opts.repo,
        filter: opts.filters,
        mode: opts.mode,
        offset: opts.offset,
        limit: opts.limit
      })}`
    );
  }

  similar(uri: string): Promise<ISimilarResult> {
    return this.get(`similar${query({ uri })}`);
  }

  lineage(uri: string, depth = 1): Promise<ILineage> {
    return this.get(`lineage${query({ uri, depth })}`);
  }
}

/**
 * Shapes of the BlackLake server extension's REST API (docs/rest-api.md).
 *
 * Every string in these documents comes from users or the store (names, messages, model
 * cards, metadata): the UI renders them as text, never as HTML.
 */

export type JSONScalar = string | number | boolean | null;
export type JSONValue = JSONScalar | JSONValue[] | { [key: string]: JSONValue };
export type Meta = { [key: string]: JSONValue };

/** `{items, offset, limit}` plus `total` and/or `has_more`. */
export interface IPage<T> {
  items: T[];
  offset: number;
  limit: number;
  total?: number;
  has_more?: boolean;
}

export interface IStatus {
  ok: boolean;
  extension: string;
  version: string;
  api_version: number;
  store: { [key: string]: JSONValue } | null;
  dense_search: boolean | null;
  counts: { repos: number; cards: number } | null;
  empty: boolean | null;
  error?: { message: string; reason: string };
}

export interface IRepo {
  name: string;
  description: string;
  created?: string | null;
}

export type RefKind = 'branch' | 'tag' | 'alias';

export interface IRef {
  name: string;
  kind: RefKind;
  commit: string;
  updated?: string | null;
  /** for aliases: the version the alias names */
  label?: string | null;
}

export interface IDeployment {
  env?: string;
  environment?: string;
  ref?: string;
  commit?: string;
  label?: string | null;
  by?: string | null;
  at?: string | null;
  note?: string | null;
  [key: string]: JSONValue | undefined;
}

export interface IRepoDetail extends IRepo {
  default_branch: string | null;
  branches: IRef[];
  tags: IRef[];
  aliases: IRef[];
  versions?: JSONValue;
  deployments?: IDeployment[];
  deprecations?: JSONValue[];
  stats?: {
    commits: number;
    branches: number;
    tags: number;
    aliases: number;
    head: {
      branch: string;
      commit: string;
      size: number | null;
      files: number | null;
      time: string | null;
    } | null;
  };
}

export type EntryKind = 'file' | 'dir';

/** The model scanner's verdict on a file's content (see safety.ts). */
export type SafetyVerdict = 'safe' | 'unsafe' | 'unknown';

/**
 * The verdict fields of file rows, file details and search hits. Optional: older servers do
 * not send them, and folders have none; a missing verdict is shown as unknown, never safe.
 */
export interface ISafety {
  safety?: SafetyVerdict;
  /** why the file is unsafe or not verified (may be empty) */
  safety_reasons?: string[];
}

export interface IEntry extends ISafety {
  path: string;
  name: string;
  kind: EntryKind;
  size: number;
  id: string;
  meta: Meta;
  nfiles?: number;
  /** whether the search index has a model/dataset card here (null: ref not indexed) */
  asset?: boolean | null;
}

export interface ITreePage extends IPage<IEntry> {
  repo: string;
  ref: string;
  commit: string;
  path: string;
}

export interface IAssetCard {
  path: string;
  uri: string;
  kind: string;
  name: string;
  size: number;
  parameters: number | null;
  facts: Meta;
}

export interface IFileInfo extends Omit<IEntry, 'asset'> {
  repo: string;
  ref: string;
  commit: string;
  uri: string;
  asset: IAssetCard | null;
  readme: { path: string; text: string; truncated: boolean } | null;
  deprecation: Meta | null;
  sha256: string | null;
  text: boolean;
  content: string | null;
  content_truncated: boolean;
  /** the format the scanner recognised (files only) */
  safety_format?: string;
}

export interface IRefLabel {
  name: string;
  kind: RefKind | string;
}

export interface ICommit {
  id: string;
  parents: string[];
  author: string;
  time: string;
  message: string;
  meta: Meta;
  size?: number;
  files?: number;
  refs?: IRefLabel[];
}

export interface ILogPage extends IPage<ICommit> {
  repo: string;
  ref: string;
  commit: string;
  path: string;
}

export interface IDiffEntry {
  path: string;
  kind: EntryKind;
  size: number;
  id: string;
  meta: Meta;
}

export interface IModifiedEntry extends IDiffEntry {
  changes: string[];
  before: { size: number; id: string; meta: Meta };
  size_delta: number;
  asset?: string | null;
  facts_diff?: { [key: string]: [JSONValue, JSONValue] } | null;
  text_diff?: string | null;
}

export interface IDiff {
  repo: string;
  a: { ref: string; commit: string };
  b: { ref: string; commit: string };
  path: string;
  added: IDiffEntry[];
  removed: IDiffEntry[];
  modified: IModifiedEntry[];
  offset: number;
  limit: number;
  total: number;
  has_more: boolean;
  counts: { added: number; removed: number; modified: number };
}

export interface IWhy {
  matched_terms?: string[];
  keyword_evidence?: number;
  similarity?: number;
  bm25_rank?: number;
  dense_rank?: number;
  facets?: { [key: string]: JSONValue };
  [key: string]: JSONValue | undefined;
}

export interface ISearchHit extends ISafety {
  uri: string;
  score: number;
  why: IWhy;
  repo: string;
  ref: string;
  path: string;
  kind: string;
  name: string;
  size: number;
  parameters: number | null;
  refs: string[];
  facts: Meta;
}

export interface IFacetCount {
  value: string;
  count: number;
}

export interface ISearchResult extends IPage<ISearchHit> {
  query: string;
  mode: string;
  facets?: { [key: string]: IFacetCount[] };
}

export interface ISimilarHit {
  uri: string;
  relation: string;
  shared_fraction: number;
  shared_bytes: number;
  their_fraction: number;
  jaccard_estimate: number;
  size: number;
}

export interface ISimilarResult extends IPage<ISimilarHit> {
  uri: string;
}

export interface ILineageNode {
  id: string;
  kind: string;
  label: string;
  uri?: string;
  center?: boolean;
  [key: string]: JSONValue | undefined;
}

export interface ILineageEdge {
  source: string;
  target: string;
  kind: string;
  [key: string]: JSONValue | undefined;
}

export interface ILineage {
  uri: string;
  center: string;
  depth: number;
  nodes: ILineageNode[];
  edges: ILineageEdge[];
  truncated?: boolean;
}

export interface IMergeResult {
  commit: string;
  created: boolean;
  fast_forward: boolean;
  parents: string[];
}

export interface IAliasEvent {
  alias: string;
  action: string;
  from: string | null;
  to: string | null;
  from_label?: string | null;
  to_label?: string | null;
  reason?: string | null;
  [key: string]: JSONValue | undefined;
}

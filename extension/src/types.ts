/**
 * GENERATED FILE — do not edit. Made by scripts/gen_types_ts.py from the response shapes in
 * blacklake_ml/shapes.py (the TypedDicts the CLI's --json, the REST API and the widgets
 * share); tests/test_types_ts.py fails when the two differ. Change a shape there and run
 * `python scripts/gen_types_ts.py`.
 *
 * Shapes of the BlackLake server extension's REST API (docs/rest-api.md).
 *
 * Every string in these documents comes from users or the store (names, messages, model
 * cards, metadata): the UI renders them as text, never as HTML.
 */

export type JSONScalar = string | number | boolean | null;
export type JSONValue = JSONScalar | JSONValue[] | { [key: string]: JSONValue };
export type Meta = { [key: string]: JSONValue };

export type RefKind = 'branch' | 'tag' | 'alias';

export type EntryKind = 'file' | 'dir';

/** The model scanner's verdict on a file's content (see safety.ts). */
export type SafetyVerdict = 'safe' | 'unsafe' | 'unknown';

/** `{items, offset, limit}` plus `total` and/or `has_more`. */
export interface IPage<T> {
  items: T[];
  offset: number;
  limit: number;
  total?: number;
  has_more?: boolean;
}

/** An error answer of the REST API (`reason`: the error class name). */
export interface IError {
  message: string;
  reason: string;
}

export interface IStatusCounts {
  repos: number;
  cards: number;
}

export interface IStatus {
  ok: boolean;
  extension: string;
  version: string;
  api_version: number;
  store: { [key: string]: JSONValue } | null;
  dense_search: boolean | null;
  counts: IStatusCounts | null;
  empty: boolean | null;
  error?: IError;
}

/** A repository (`repo list --json`). */
export interface IRepo {
  name: string;
  description: string;
  created?: string | null;
  max_bytes?: number | null;
  max_files?: number | null;
}

/** A branch, tag or alias (`branch list --json`: the first three fields). */
export interface IRef {
  name: string;
  kind: RefKind;
  commit: string;
  updated?: string | null;
  /** for aliases: the version the alias names */
  label?: string | null;
}

/** A deployment record (`deploy list --json`). */
export interface IDeployment {
  env?: string;
  environment?: string;
  seq?: number;
  ref?: string;
  commit?: string;
  label?: string | null;
  action?: string;
  by?: string | null;
  at?: string | null;
  note?: string | null;
  [key: string]: JSONValue | undefined;
}

export interface IRepoHead {
  branch: string;
  commit: string;
  size: number | null;
  files: number | null;
  time: string | null;
}

export interface IRepoStats {
  commits: number;
  branches: number;
  tags: number;
  aliases: number;
  head: IRepoHead | null;
}

export interface IRepoDetail extends IRepo {
  default_branch: string | null;
  branches: IRef[];
  tags: IRef[];
  aliases: IRef[];
  versions?: JSONValue;
  deployments?: IDeployment[];
  deprecations?: JSONValue[];
  stats?: IRepoStats;
}

/**
 * The verdict fields of file rows, file details and search hits. Optional: older servers
 * do not send them, and folders have none; a missing verdict is shown as unknown, never
 * safe.
 */
export interface ISafety {
  safety?: SafetyVerdict;
  /** why the file is unsafe or not verified (may be empty) */
  safety_reasons?: string[];
}

/** A directory listing row of the REST API (an `ls` row plus name and file count). */
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

/** An asset card: where it is, what it is, and every extracted fact. */
export interface IAssetCard {
  path: string;
  uri: string;
  kind: string;
  name: string;
  size: number;
  parameters: number | null;
  facts: Meta;
}

export interface IReadme {
  path: string;
  text: string;
  truncated: boolean;
}

/** Everything the file (or asset directory) view shows. */
export interface IFileInfo extends ISafety {
  path: string;
  name: string;
  kind: EntryKind;
  size: number;
  id: string;
  meta: Meta;
  nfiles?: number;
  repo: string;
  ref: string;
  commit: string;
  uri: string;
  asset: IAssetCard | null;
  readme: IReadme | null;
  deprecation: Meta | null;
  sha256: string | null;
  md5?: string | null;
  text: boolean;
  content: string | null;
  content_truncated: boolean;
  /** the format the scanner recognised (files only) */
  safety_format?: string;
  /** why a file that looks like a model could not be read as one */
  extraction_error?: string | null;
}

export interface IRefLabel {
  name: string;
  kind: RefKind | string;
}

/** A commit (`log --json`; the REST log adds the refs pointing at it). */
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

/** A file entry: an `ls --json` row, and an added or removed file of a diff. */
export interface IDiffEntry {
  path: string;
  kind: EntryKind;
  size: number;
  id: string;
  meta: Meta;
}

export interface IDiffBefore {
  size: number;
  id: string;
  meta: Meta;
}

export interface IModifiedEntry extends IDiffEntry {
  changes: string[];
  before: IDiffBefore;
  size_delta: number;
  asset?: string | null;
  facts_diff?: { [key: string]: [JSONValue, JSONValue] } | null;
  text_diff?: string | null;
}

/** `diff --json`: what changed, each list sorted by path. */
export interface ITreeDiff {
  added: IDiffEntry[];
  removed: IDiffEntry[];
  modified: IModifiedEntry[];
}

export interface IDiffSide {
  ref: string;
  commit: string;
}

export interface IDiffCounts {
  added: number;
  removed: number;
  modified: number;
}

export interface IDiff extends ITreeDiff {
  repo: string;
  a: IDiffSide;
  b: IDiffSide;
  path: string;
  offset: number;
  limit: number;
  total: number;
  has_more: boolean;
  counts: IDiffCounts;
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

/** What a merge, revert or cherry-pick did. */
export interface IMergeResult {
  commit: string;
  created: boolean;
  fast_forward: boolean;
  parents: string[];
}

export interface IAliasEvent {
  alias: string;
  seq?: number | null;
  action: string;
  from: string | null;
  to: string | null;
  from_label?: string | null;
  to_label?: string | null;
  by?: string | null;
  at?: string | null;
  reason?: string | null;
  [key: string]: JSONValue | undefined;
}

/** A version (`version create --json`; `version list` adds the rest). */
export interface IVersion {
  name: string;
  version: string;
  commit: string;
  prerelease?: boolean;
  created: string;
  aliases?: string[];
  deployed_to?: string[];
  deprecated?: IDeprecation | null;
}

/** An alias (`alias list --json`). */
export interface IAlias {
  name: string;
  commit: string;
  label: string | null;
  updated: string;
}

/** A deprecation (`commit` null: the whole repository). */
export interface IDeprecation {
  commit: string | null;
  label: string | null;
  reason: string;
  sunset: string | null;
  past_sunset: boolean;
  by: string;
  at: string;
}

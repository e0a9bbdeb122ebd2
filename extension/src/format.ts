/**
 * Pure helpers: formatting, `blacklake://` URIs, notebook snippets, model-card front matter.
 * No DOM and no JupyterLab imports, so Jest tests them directly.
 */
import { JSONValue } from './types';

export const SCHEME = 'blacklake://';

/** `blacklake://<repo>/<ref>/<path>` (no trailing slash for the root). */
export function makeURI(repo: string, ref: string, path = ''): string {
  const base = `${SCHEME}${repo}/${ref}`;
  return path ? `${base}/${path}` : base;
}

export interface IParsedURI {
  repo: string;
  ref: string;
  path: string;
}

/** Split a `blacklake://` URI (null if it is not one). */
export function parseURI(uri: string): IParsedURI | null {
  if (!uri.startsWith(SCHEME)) {
    return null;
  }
  const rest = uri.slice(SCHEME.length);
  const i = rest.indexOf('/');
  if (i <= 0) {
    return null;
  }
  const repo = rest.slice(0, i);
  const after = rest.slice(i + 1);
  const j = after.indexOf('/');
  const ref = j < 0 ? after : after.slice(0, j);
  const path = j < 0 ? '' : after.slice(j + 1).replace(/\/+$/, '');
  if (!ref) {
    return null;
  }
  return { repo, ref, path };
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** `1536` -> `1.5 KiB`. */
export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !isFinite(n)) {
    return '';
  }
  let v = Math.abs(n);
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  const s = u === 0 ? String(v) : v.toFixed(v < 10 ? 1 : 0);
  return `${n < 0 ? '-' : ''}${s} ${UNITS[u]}`;
}

/** `124000000` -> `124M` (parameter counts). */
export function formatCount(n: number | null | undefined): string {
  if (n === null || n === undefined || !isFinite(n)) {
    return '';
  }
  const steps: [number, string][] = [
    [1e12, 'T'],
    [1e9, 'B'],
    [1e6, 'M'],
    [1e3, 'K']
  ];
  for (const [size, suffix] of steps) {
    if (Math.abs(n) >= size) {
      const v = n / size;
      return `${v.toFixed(v < 10 ? 1 : 0).replace(/\.0$/, '')}${suffix}`;
    }
  }
  return String(n);
}

/** `3 commits`, `1 branch`. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** The first 8 characters of a commit id. */
export function shortId(id: string | null | undefined): string {
  return id ? id.slice(0, 8) : '';
}

/** The first line of a commit message. */
export function firstLine(message: string): string {
  const line = message.split('\n', 1)[0];
  return line.length > 200 ? `${line.slice(0, 199)}…` : line;
}

/** A compact local date-time for ISO strings (the string itself if it does not parse). */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) {
    return '';
  }
  const t = Date.parse(iso);
  if (isNaN(t)) {
    return iso;
  }
  const d = new Date(t);
  const pad = (x: number) => String(x).padStart(2, '0');
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}`
  );
}

/** Any JSON value as one line of text (objects as compact JSON). */
export function formatValue(v: JSONValue | undefined): string {
  if (v === null || v === undefined) {
    return '—';
  }
  if (typeof v === 'string') {
    return v;
  }
  if (typeof v === 'number' || typeof v === 'boolean') {
    return String(v);
  }
  if (Array.isArray(v) && v.every(x => x === null || typeof x !== 'object')) {
    return v.map(x => String(x)).join(', ');
  }
  return JSON.stringify(v);
}

/**
 * Split YAML front matter (`---\n…\n---`) off a model card.
 * Returns the front matter's raw text and the markdown body.
 */
export function splitFrontMatter(text: string): { front: string; body: string } {
  const m = /^\ufeff?---[ \t]*\r?\n([\s\S]*?)\r?\n---[ \t]*(?:\r?\n|$)/.exec(text);
  if (!m) {
    return { front: '', body: text };
  }
  return { front: m[1], body: text.slice(m[0].length) };
}

/**
 * Characters written as escapes in generated Python even though a Python string literal
 * could hold them raw: control characters (C0, DEL, C1 — including U+0085, a line break to
 * `str.splitlines`), line and paragraph separators (U+2028/2029: line breaks to editors and
 * JavaScript), invisible format characters (bidi overrides and isolates — "Trojan Source" —,
 * zero-width characters, BOM) and lone surrogates (not encodable in the cell's UTF-8).
 * What a reader sees in the cell is then exactly what Python will run.
 */
const PY_ESCAPED = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u;

const PY_SIMPLE_ESCAPES = new Map<string, string>([
  ['\\', '\\\\'],
  ['"', '\\"'],
  ['\n', '\\n'],
  ['\r', '\\r'],
  ['\t', '\\t']
]);

function hex(cp: number, width: number): string {
  return cp.toString(16).padStart(width, '0');
}

/**
 * A double-quoted Python string literal whose value is exactly `s`, on one line, for any
 * string: backslash and `"` escaped, `\n` `\r` `\t` by name, every other character of
 * {@link PY_ESCAPED} as `\xXX`, `\uXXXX` or `\UXXXXXXXX`; everything else (printable
 * Unicode, non-BMP included) as is. (`JSON.stringify` is not enough: it leaves U+2028/2029,
 * DEL, C1 controls and bidi controls raw.)
 */
export function pyStr(s: string): string {
  let out = '"';
  // for..of walks code points, so a valid surrogate pair stays one (non-BMP) character
  // and only a lone surrogate reaches the escape branch on its own.
  for (const ch of s) {
    const simple = PY_SIMPLE_ESCAPES.get(ch);
    if (simple !== undefined) {
      out += simple;
      continue;
    }
    if (!PY_ESCAPED.test(ch)) {
      out += ch;
      continue;
    }
    const cp = ch.codePointAt(0) as number;
    out += cp <= 0xff ? `\\x${hex(cp, 2)}` : cp <= 0xffff ? `\\u${hex(cp, 4)}` : `\\U${hex(cp, 8)}`;
  }
  return `${out}"`;
}

/** A directory name for a checkout, derived from the repo, ref and path. */
export function checkoutDirName(repo: string, ref: string, path: string): string {
  const last = path ? path.split('/').pop() || repo : repo;
  return `${last}-${ref}`.replace(/[^A-Za-z0-9._-]+/g, '_');
}

export interface ISnippetTarget {
  repo: string;
  ref: string;
  path: string;
  kind: 'file' | 'dir';
  /** extracted `format` fact of the asset (huggingface, safetensors, onnx, ...) */
  format?: string | null;
  /** the store location the Jupyter server uses (omitted: the default store) */
  home?: string | null;
}

const FORMAT_BY_SUFFIX: { [suffix: string]: string } = {
  csv: 'csv',
  tsv: 'tsv',
  parquet: 'parquet',
  onnx: 'onnx',
  safetensors: 'safetensors'
};

/** A loader format from a file name's suffix (null when there is no obvious loader). */
export function formatFromPath(path: string): string | null {
  const m = /\.([A-Za-z0-9]+)$/.exec(path);
  return m ? FORMAT_BY_SUFFIX[m[1].toLowerCase()] ?? null : null;
}

/**
 * Python code that loads the file or model at a location: `bl.open(uri)` for files, a
 * checkout for directories (model folders), with a format-specific last line where an
 * obvious loader exists.
 *
 * Every value from the store or the server (repository, ref, path, store location) enters
 * the code only through {@link pyStr}, and no comment holds any of them, so no name can
 * add a statement (tested with hostile names by Jest and by Python's own parser:
 * tests/jupyter/test_snippet_python.py).
 */
export function loadSnippet(t: ISnippetTarget): string {
  const uri = makeURI(t.repo, t.ref, t.path);
  const lines = ['import blacklake_ml as bl', ''];
  const storeArg = t.home ? `, store=store` : '';
  if (t.home) {
    lines.push(`store = bl.Store.open(${pyStr(t.home)})`);
  }
  if (t.kind === 'dir') {
    const dir = checkoutDirName(t.repo, t.ref, t.path);
    if (!t.home) {
      lines.push('store = bl.Store.open()');
    }
    // The URI goes in a string, never in a comment: a comment ends at a line break, and
    // a path holding one (stores written before paths refused CR/LF) would turn the rest
    // into code that runs with the cell.
    lines.push(`uri = ${pyStr(uri)}  # what is checked out`);
    lines.push(`local_dir = ${pyStr(dir)}`);
    const pathArg = t.path ? `, path=${pyStr(t.path)}` : '';
    lines.push(
      `store.repo(${pyStr(t.repo)}).checkout(${pyStr(t.ref)}, local_dir${pathArg}, force=True)`
    );
    if (t.format === 'huggingface') {
      lines.push('', 'from transformers import AutoModel', '', 'model = AutoModel.from_pretrained(local_dir)');
    } else if (t.format === 'mlflow') {
      lines.push('', 'import mlflow', '', 'model = mlflow.pyfunc.load_model(local_dir)');
    } else if (t.format === 'tf-savedmodel') {
      lines.push('', 'import tensorflow as tf', '', 'model = tf.saved_model.load(local_dir)');
    }
    return lines.join('\n');
  }
  lines.push(`f = bl.open(${pyStr(uri)}${storeArg})`);
  switch (t.format) {
    case 'safetensors':
      lines.push('', 'from safetensors.torch import load', '', 'tensors = load(f.read())');
      break;
    case 'onnx':
      lines.push('', 'import onnx', '', 'model = onnx.load(f)');
      break;
    case 'csv':
    case 'tsv':
      lines.push(
        '',
        'import pandas as pd',
        '',
        `df = pd.read_csv(f${t.format === 'tsv' ? ", sep='\\t'" : ''})`
      );
      break;
    case 'parquet':
      lines.push('', 'import pandas as pd', '', 'df = pd.read_parquet(f)');
      break;
    default:
      lines.push('data = f.read()');
  }
  return lines.join('\n');
}

/** Unified diff text -> typed lines for rendering (`+`, `-`, ` `, `@@`, headers). */
export type DiffLineKind = 'add' | 'del' | 'ctx' | 'hunk' | 'meta';

export function parseUnifiedDiff(text: string): { kind: DiffLineKind; text: string }[] {
  const out: { kind: DiffLineKind; text: string }[] = [];
  const lines = text.split('\n');
  if (lines.length && lines[lines.length - 1] === '') {
    lines.pop();
  }
  let inHunk = false;
  for (const line of lines) {
    let kind: DiffLineKind;
    if (line.startsWith('@@')) {
      kind = 'hunk';
      inHunk = true;
    } else if (!inHunk || line.startsWith('\\')) {
      kind = 'meta'; // file headers (---/+++) and "\ No newline at end of file"
    } else if (line.startsWith('+')) {
      kind = 'add';
    } else if (line.startsWith('-')) {
      kind = 'del';
    } else {
      kind = 'ctx';
    }
    out.push({ kind, text: line });
  }
  return out;
}

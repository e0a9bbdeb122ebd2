/**
 * The model scanner's verdict on a file, as the panel shows it (pure helpers: no DOM, no
 * JupyterLab; tested with Jest).
 *
 * The REST answers carry `safety` ("safe" | "unsafe" | "unknown") and `safety_reasons` on
 * each file row of the tree route, on the file route and on each search hit
 * (docs/rest-api.md). Anything but exactly "safe" or "unsafe" — a missing field, an older
 * server, a value this version does not know — is shown as unknown: only the scanner saying
 * "safe" may look safe.
 */

export type Safety = 'safe' | 'unsafe' | 'unknown';

/** What carries a verdict (tree entries, file infos, search hits). */
export interface ISafetyFields {
  safety?: unknown;
  safety_reasons?: unknown;
}

/** At most this many reasons are listed (the server keeps up to 50). */
export const MAX_REASONS = 20;
/** Longest reason shown in full (longer ones are cut with an ellipsis). */
export const MAX_REASON_CHARS = 300;

/** The verdict of `x`, unknown unless the server said exactly "safe" or "unsafe". */
export function safetyOf(x: ISafetyFields | null | undefined): Safety {
  const v = x?.safety;
  return v === 'safe' || v === 'unsafe' ? v : 'unknown';
}

/** The reasons of `x` as strings (non-strings dropped), capped in number and length. */
export function safetyReasons(x: ISafetyFields | null | undefined): string[] {
  const raw = x?.safety_reasons;
  if (!Array.isArray(raw)) {
    return [];
  }
  return raw
    .filter((r): r is string => typeof r === 'string')
    .slice(0, MAX_REASONS)
    .map(r => (r.length > MAX_REASON_CHARS ? `${r.slice(0, MAX_REASON_CHARS - 1)}…` : r));
}

const LABELS: { [s in Safety]: { long: string; short: string; explain: string } } = {
  safe: {
    long: 'safe',
    short: 'safe',
    explain: 'The scanner checked this file: loading it runs no code.'
  },
  unsafe: {
    long: 'unsafe — loading runs code',
    short: 'unsafe',
    explain: 'Loading this file can run code. Do not load it unless you trust where it came from.'
  },
  unknown: {
    long: 'not verified',
    short: 'not verified',
    explain:
      'Not verified: the scanner could not vouch for this file (unknown format, a limit, ' +
      'or no verdict). Treat it as untrusted.'
  }
};

/** The badge text: the long form in the details header, the short one in lists. */
export function safetyLabel(s: Safety, compact = false): string {
  return compact ? LABELS[s].short : LABELS[s].long;
}

/** A tooltip: what the verdict means, then the first reasons (plain text). */
export function safetyTitle(s: Safety, reasons: string[] = [], shown = 3): string {
  const lines = [LABELS[s].explain, ...reasons.slice(0, shown).map(r => `• ${r}`)];
  if (reasons.length > shown) {
    lines.push(`… ${reasons.length - shown} more`);
  }
  return lines.join('\n');
}

/** The CSS class of a verdict's badge (green, red, amber: style/base.css). */
export function safetyClass(s: Safety): string {
  return `jp-BlackLake-safety jp-BlackLake-safety-${s}`;
}

import React from 'react';

import {
  ISafetyFields,
  safetyClass,
  safetyLabel,
  safetyOf,
  safetyReasons,
  safetyTitle
} from '../safety';

/**
 * The scanner's verdict as a badge: green "safe", red "unsafe", amber "not verified" (also
 * for a missing verdict). Every string is rendered by React as text, never as HTML.
 */
export function SafetyBadge(props: { of: ISafetyFields; compact?: boolean }): JSX.Element {
  const s = safetyOf(props.of);
  const reasons = safetyReasons(props.of);
  return (
    <span
      className={`jp-BlackLake-badge ${safetyClass(s)}`}
      data-safety={s}
      title={safetyTitle(s, reasons)}
    >
      {safetyLabel(s, props.compact)}
    </span>
  );
}

/**
 * The verdict with its reasons listed, for the file details header. A safe file with no
 * reasons is just the badge; otherwise the reasons follow as a list of text items.
 */
export function SafetyVerdict(props: { of: ISafetyFields }): JSX.Element {
  const s = safetyOf(props.of);
  const reasons = safetyReasons(props.of);
  const total = Array.isArray(props.of.safety_reasons) ? props.of.safety_reasons.length : 0;
  return (
    <div className={`jp-BlackLake-safetyVerdict jp-BlackLake-safetyVerdict-${s}`} data-safety={s}>
      <SafetyBadge of={props.of} />
      {s !== 'safe' ? (
        <span className="jp-BlackLake-safetyExplain">{safetyTitle(s, [], 0)}</span>
      ) : null}
      {reasons.length ? (
        <ul className="jp-BlackLake-safetyReasons">
          {reasons.map((r, i) => (
            <li key={i}>{r}</li>
          ))}
          {total > reasons.length ? (
            <li className="jp-BlackLake-muted">… {total - reasons.length} more</li>
          ) : null}
        </ul>
      ) : null}
    </div>
  );
}

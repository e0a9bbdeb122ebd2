import React from 'react';

import { copyURI, IBlackLakeContext } from '../actions';
import { formatBytes, parseURI } from '../format';
import { ISimilarResult } from '../types';
import { errorText, useAsync } from './hooks';

const RELATIONS: { [key: string]: string } = {
  identical: 'identical bytes',
  'shares-chunks': 'shares chunks',
  'base-model': 'its base model',
  'derived-model': 'derived from it'
};

/** Files sharing chunks with a file, and models related through their cards. */
export function SimilarList(props: { ctx: IBlackLakeContext; uri: string }): JSX.Element {
  const { ctx, uri } = props;
  const result = useAsync<ISimilarResult>(() => ctx.api.similar(uri), [uri]);
  if (result.loading && !result.data) {
    return <div className="jp-BlackLake-muted">Looking for similar models…</div>;
  }
  if (result.error) {
    return <div className="jp-BlackLake-error">{errorText(result.error)}</div>;
  }
  const items = result.data?.items ?? [];
  if (!items.length) {
    return (
      <div className="jp-BlackLake-muted jp-BlackLake-similarEmpty">
        No stored file shares chunks with this one, and no card names it as a base model.
      </div>
    );
  }
  return (
    <div className="jp-BlackLake-similar">
      {items.map(h => {
        const u = parseURI(h.uri);
        return (
          <div className="jp-BlackLake-similarHit" key={h.uri} data-uri={h.uri}>
            <div className="jp-BlackLake-hitTitle">
              <button
                className="jp-BlackLake-linkButton"
                title="Open details"
                onClick={() => u && ctx.openDetails(u.repo, u.ref, u.path)}
              >
                {h.uri}
              </button>
            </div>
            <div className="jp-BlackLake-muted">
              <span className="jp-BlackLake-badge">{RELATIONS[h.relation] ?? h.relation}</span>
              {h.shared_fraction > 0
                ? ` ${(h.shared_fraction * 100).toFixed(1)}% of this file's bytes found there`
                : ''}
              {h.size ? ` · ${formatBytes(h.size)}` : ''}
              <button className="jp-BlackLake-linkButton" onClick={() => copyURI(h.uri)}>
                copy URI
              </button>
            </div>
          </div>
        );
      })}
    </div>
  );
}

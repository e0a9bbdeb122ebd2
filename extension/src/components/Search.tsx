import React, { useEffect, useState } from 'react';

import { copyURI, IBlackLakeContext } from '../actions';
import { formatBytes, formatCount, formatValue, parseURI } from '../format';
import { IPanelState } from '../model';
import { ISearchHit, ISearchResult } from '../types';
import { errorText } from './hooks';
import { SafetyBadge } from './Safety';
import { SimilarList } from './Similar';

const FACET_LABELS: { [key: string]: string } = {
  kind: 'Kind',
  task: 'Task',
  framework: 'Framework',
  format: 'Format',
  license_family: 'Licence family',
  license: 'Licence',
  language: 'Language',
  tags: 'Tags',
  library: 'Library',
  repo: 'Repository'
};

/** Why a hit matched, in words (matched terms, similarity, ranks, filters). */
export function WhyMatched(props: { hit: ISearchHit }): JSX.Element {
  const w = props.hit.why ?? {};
  const terms = w.matched_terms ?? [];
  const facets = w.facets ?? {};
  return (
    <div className="jp-BlackLake-why" data-why="">
      {terms.length ? (
        <span className="jp-BlackLake-whyPart">
          matched{' '}
          {terms.map(t => (
            <mark key={t} className="jp-BlackLake-term">
              {t}
            </mark>
          ))}
        </span>
      ) : null}
      {typeof w.similarity === 'number' ? (
        <span className="jp-BlackLake-whyPart" title="cosine similarity of the query and card embeddings">
          meaning {(w.similarity * 100).toFixed(0)}% similar
        </span>
      ) : null}
      {typeof w.keyword_evidence === 'number' && w.keyword_evidence > 0 ? (
        <span className="jp-BlackLake-whyPart" title="idf-weighted share of the query words in the card">
          keywords {(w.keyword_evidence * 100).toFixed(0)}%
        </span>
      ) : null}
      {w.bm25_rank !== undefined ? (
        <span className="jp-BlackLake-whyPart">keyword rank {w.bm25_rank}</span>
      ) : null}
      {w.dense_rank !== undefined ? (
        <span className="jp-BlackLake-whyPart">semantic rank {w.dense_rank}</span>
      ) : null}
      {Object.keys(facets).length ? (
        <span className="jp-BlackLake-whyPart">
          filters:{' '}
          {Object.entries(facets)
            .map(([k, v]) => `${k}=${formatValue(v)}`)
            .join(', ')}
        </span>
      ) : null}
    </div>
  );
}

/** One search result: name, kind, safety verdict, score, URI, facts, why, actions. */
export function Hit(props: { ctx: IBlackLakeContext; hit: ISearchHit; best: number }): JSX.Element {
  const { ctx, hit, best } = props;
  const u = parseURI(hit.uri);
  const facts = ['format', 'framework', 'task', 'license', 'language', 'base_model']
    .filter(k => hit.facts[k] !== undefined && hit.facts[k] !== null)
    .map(k => `${k}: ${formatValue(hit.facts[k])}`);
  return (
    <div className="jp-BlackLake-hit" data-uri={hit.uri}>
      <div className="jp-BlackLake-hitTitle">
        <button
          className="jp-BlackLake-linkButton jp-BlackLake-hitName"
          onClick={() => u && ctx.openDetails(u.repo, u.ref, u.path)}
          title="Open details"
        >
          {hit.name || hit.path || hit.repo}
        </button>
        <span className="jp-BlackLake-badge jp-BlackLake-kind">{hit.kind}</span>
        <SafetyBadge of={hit} />
        <span className="jp-BlackLake-score" title={`score ${hit.score}`}>
          <span
            className="jp-BlackLake-scoreBar"
            style={{ width: `${Math.max(4, Math.round((hit.score / (best || 1)) * 100))}%` }}
          />
          <span className="jp-BlackLake-scoreText">{hit.score.toFixed(3)}</span>
        </span>
      </div>
      <code className="jp-BlackLake-uri">{hit.uri}</code>
      {hit.refs && hit.refs.length > 1 ? (
        <div className="jp-BlackLake-muted">also on {hit.refs.filter(r => r !== hit.ref).join(', ')}</div>
      ) : null}
      <div className="jp-BlackLake-muted">
        {facts.join(' · ')}
        {hit.parameters ? ` · ${formatCount(hit.parameters)} params` : ''}
        {hit.size ? ` · ${formatBytes(hit.size)}` : ''}
      </div>
      <WhyMatched hit={hit} />
      <div className="jp-BlackLake-hitActions">
        <button className="jp-BlackLake-linkButton" onClick={() => copyURI(hit.uri)}>
          copy URI
        </button>
        <button
          className="jp-BlackLake-linkButton"
          onClick={() => ctx.model.requestSimilar(hit.uri)}
        >
          similar
        </button>
        <button className="jp-BlackLake-linkButton" onClick={() => ctx.model.requestLineage(hit.uri)}>
          lineage
        </button>
      </div>
    </div>
  );
}

export function Search(props: { ctx: IBlackLakeContext; state: IPanelState }): JSX.Element {
  const { ctx, state } = props;
  const [q, setQ] = useState('');
  const [mode, setMode] = useState('hybrid');
  const [repo, setRepo] = useState('');
  const [filters, setFilters] = useState<string[]>([]);
  const [custom, setCustom] = useState('');
  const [result, setResult] = useState<ISearchResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [similar, setSimilar] = useState<string | null>(null);

  const run = (query: string, fs: string[], offset = 0) => {
    if (!query.trim()) {
      return;
    }
    setSimilar(null);
    setLoading(true);
    setError(null);
    ctx.api
      .search(query, { repo: repo || undefined, filters: fs, mode, offset, limit: 20 })
      .then(
        r => {
          setResult(prev =>
            offset && prev ? { ...r, items: prev.items.concat(r.items) } : r
          );
          setLoading(false);
        },
        e => {
          setError(errorText(e));
          setResult(null);
          setLoading(false);
        }
      );
  };

  useEffect(() => {
    if (state.similar) {
      setSimilar(state.similar.uri);
    }
  }, [state.similar?.nonce]);

  const toggleFilter = (f: string) => {
    const next = filters.includes(f) ? filters.filter(x => x !== f) : [...filters, f];
    setFilters(next);
    run(q, next);
  };

  const best = result?.items.reduce((m, h) => Math.max(m, h.score), 0) ?? 1;
  return (
    <div className="jp-BlackLake-search jp-BlackLake-grow">
      <form
        className="jp-BlackLake-searchForm"
        onSubmit={e => {
          e.preventDefault();
          run(q, filters);
        }}
      >
        <input
          className="jp-mod-styled jp-BlackLake-query"
          type="search"
          name="q"
          value={q}
          onChange={e => setQ(e.target.value)}
          placeholder="a small German speech recognizer with a permissive licence"
          aria-label="Search models and datasets"
        />
        <div className="jp-BlackLake-searchOptions">
          <select
            className="jp-mod-styled"
            value={mode}
            onChange={e => setMode(e.target.value)}
            aria-label="Ranking"
            title="hybrid: keywords + meaning; bm25: keywords only; dense: meaning only"
          >
            <option value="hybrid">hybrid</option>
            <option value="bm25">keywords</option>
            <option value="dense">meaning</option>
          </select>
          <select
            className="jp-mod-styled"
            value={repo}
            onChange={e => setRepo(e.target.value)}
            aria-label="Repository"
          >
            <option value="">all repositories</option>
            {state.repos.map(r => (
              <option key={r.name} value={r.name}>
                {r.name}
              </option>
            ))}
          </select>
          <button type="submit" className="jp-BlackLake-button jp-mod-accept">
            Search
          </button>
        </div>
        <div className="jp-BlackLake-filterRow">
          <input
            className="jp-mod-styled"
            value={custom}
            onChange={e => setCustom(e.target.value)}
            placeholder="filter, e.g. parameters<1e9"
            aria-label="Add a filter"
            onKeyDown={e => {
              if (e.key === 'Enter' && custom.trim()) {
                e.preventDefault();
                toggleFilter(custom.trim());
                setCustom('');
              }
            }}
          />
        </div>
        {filters.length ? (
          <div className="jp-BlackLake-activeFilters">
            {filters.map(f => (
              <button
                type="button"
                key={f}
                className="jp-BlackLake-chip jp-mod-active"
                onClick={() => toggleFilter(f)}
                title="Remove this filter"
              >
                {f} ×
              </button>
            ))}
          </div>
        ) : null}
      </form>
      {similar ? (
        <div className="jp-BlackLake-section">
          <div className="jp-BlackLake-sectionTitle">
            Similar to <code>{similar}</code>{' '}
            <button className="jp-BlackLake-linkButton" onClick={() => setSimilar(null)}>
              close
            </button>
          </div>
          <SimilarList ctx={ctx} uri={similar} />
        </div>
      ) : null}
      {error ? <div className="jp-BlackLake-error">{error}</div> : null}
      {loading && !result ? <div className="jp-BlackLake-muted">Searching…</div> : null}
      {result && !similar ? (
        <div className="jp-BlackLake-results">
          {result.facets ? (
            <details className="jp-BlackLake-facets">
              <summary>Filters</summary>
              {Object.entries(result.facets)
                .filter(([, values]) => values.length)
                .map(([key, values]) => (
                  <div className="jp-BlackLake-facet" key={key} data-facet={key}>
                    <div className="jp-BlackLake-facetName">{FACET_LABELS[key] ?? key}</div>
                    {values.slice(0, 12).map(v => {
                      const f = `${key}=${v.value}`;
                      return (
                        <button
                          type="button"
                          key={v.value}
                          className={`jp-BlackLake-chip${filters.includes(f) ? ' jp-mod-active' : ''}`}
                          onClick={() => toggleFilter(f)}
                        >
                          {v.value} <span className="jp-BlackLake-count">{v.count}</span>
                        </button>
                      );
                    })}
                  </div>
                ))}
            </details>
          ) : null}
          <div className="jp-BlackLake-muted jp-BlackLake-padded">
            {result.items.length
              ? `${result.items.length}${result.has_more ? '+' : ''} results`
              : 'No model or dataset matches well enough. Try other words or fewer filters.'}
          </div>
          {result.items.map(h => (
            <Hit key={h.uri} ctx={ctx} hit={h} best={best} />
          ))}
          {result.has_more ? (
            <button
              className="jp-BlackLake-linkButton jp-BlackLake-padded"
              disabled={loading}
              onClick={() => run(result.query, filters, result.items.length)}
            >
              More results…
            </button>
          ) : null}
        </div>
      ) : null}
    </div>
  );
}

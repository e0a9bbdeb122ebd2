import React, { useEffect, useMemo, useState } from 'react';

import { copyURI, IBlackLakeContext } from '../actions';
import { formatTime, formatValue, parseURI } from '../format';
import { layoutLineage } from '../lineage';
import { IPanelState } from '../model';
import { ILineage, ILineageNode } from '../types';
import { errorText } from './hooks';

const NODE_W = 150;
const NODE_H = 30;

/** `text` cut to fit about `n` characters. */
function clip(text: string, n: number): string {
  return text.length > n ? `${text.slice(0, n - 1)}…` : text;
}

/** The lineage graph as SVG: nodes by kind, edges downstream, click to select. */
export function LineageGraph(props: {
  graph: ILineage;
  selected: string | null;
  onSelect: (node: ILineageNode) => void;
  onOpen: (node: ILineageNode) => void;
}): JSX.Element {
  const { graph } = props;
  const layout = useMemo(
    () => layoutLineage(graph, { nodeWidth: NODE_W, nodeHeight: NODE_H }),
    [graph]
  );
  const byId = new Map(graph.nodes.map(n => [n.id, n]));
  return (
    <svg
      className="jp-BlackLake-lineageGraph"
      width={layout.width}
      height={layout.height}
      viewBox={`0 0 ${layout.width} ${layout.height}`}
      role="img"
      aria-label="Lineage graph"
    >
      <defs>
        <marker
          id="jp-BlackLake-arrow"
          viewBox="0 0 10 10"
          refX="10"
          refY="5"
          markerWidth="7"
          markerHeight="7"
          orient="auto-start-reverse"
        >
          <path d="M 0 0 L 10 5 L 0 10 z" className="jp-BlackLake-arrowHead" />
        </marker>
      </defs>
      {graph.edges.map((e, i) => {
        const s = layout.nodes.get(e.source);
        const t = layout.nodes.get(e.target);
        if (!s || !t) {
          return null;
        }
        const forward = t.x > s.x;
        const x1 = forward ? s.x + NODE_W : s.x + NODE_W / 2;
        const y1 = forward ? s.y + NODE_H / 2 : s.y + NODE_H;
        const x2 = forward ? t.x : t.x + NODE_W / 2;
        const y2 = forward ? t.y + NODE_H / 2 : t.y;
        const dx = (x2 - x1) / 2;
        const d = forward
          ? `M${x1},${y1} C${x1 + dx},${y1} ${x2 - dx},${y2} ${x2},${y2}`
          : `M${x1},${y1} L${x2},${y2}`;
        return (
          <path
            key={i}
            d={d}
            className={`jp-BlackLake-edge jp-BlackLake-edge-${e.kind}`}
            markerEnd="url(#jp-BlackLake-arrow)"
            data-kind={e.kind}
          >
            <title>
              {`${byId.get(e.source)?.label ?? e.source} → ${e.kind} → ${
                byId.get(e.target)?.label ?? e.target
              }`}
            </title>
          </path>
        );
      })}
      {graph.nodes.map(n => {
        const p = layout.nodes.get(n.id);
        if (!p) {
          return null;
        }
        const sel = props.selected === n.id;
        return (
          <g
            key={n.id}
            className={`jp-BlackLake-node jp-BlackLake-node-${n.kind}${
              n.center ? ' jp-mod-center' : ''
            }${sel ? ' jp-mod-selected' : ''}`}
            transform={`translate(${p.x},${p.y})`}
            data-id={n.id}
            data-kind={n.kind}
            tabIndex={0}
            role="button"
            aria-label={`${n.kind} ${n.label}`}
            onClick={() => props.onSelect(n)}
            onDoubleClick={() => props.onOpen(n)}
            onKeyDown={e => {
              if (e.key === 'Enter') {
                props.onOpen(n);
              } else if (e.key === ' ') {
                e.preventDefault();
                props.onSelect(n);
              }
            }}
          >
            <title>{`${n.kind}: ${n.label}${n.uri ? `\n${n.uri}` : ''}`}</title>
            <rect width={NODE_W} height={NODE_H} rx={n.kind === 'run' ? 15 : 4} />
            <text x={8} y={12} className="jp-BlackLake-nodeKind">
              {n.kind}
            </text>
            <text x={8} y={25} className="jp-BlackLake-nodeLabel">
              {clip(n.label, 22)}
            </text>
          </g>
        );
      })}
    </svg>
  );
}

/** The lineage tab of the side panel (follows requests from other views). */
export function Lineage(props: { ctx: IBlackLakeContext; state: IPanelState }): JSX.Element {
  return <LineageView ctx={props.ctx} request={props.state.lineage} inPanel={true} />;
}

/**
 * A lineage view: URI form, graph, selected node. In the side panel, or full size in the main
 * area (`inPanel` false).
 */
export function LineageView(props: {
  ctx: IBlackLakeContext;
  request: { uri: string; nonce: number } | null;
  inPanel: boolean;
}): JSX.Element {
  const { ctx, request } = props;
  const [uri, setUri] = useState('');
  const [depth, setDepth] = useState(1);
  const [graph, setGraph] = useState<ILineage | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [selected, setSelected] = useState<ILineageNode | null>(null);

  const run = (u: string, d: number) => {
    if (!u.trim()) {
      return;
    }
    setLoading(true);
    setError(null);
    ctx.api.lineage(u.trim(), d).then(
      g => {
        setGraph(g);
        setSelected(g.nodes.find(n => n.id === g.center) ?? null);
        setLoading(false);
      },
      e => {
        setError(errorText(e));
        setGraph(null);
        setLoading(false);
      }
    );
  };

  useEffect(() => {
    if (request) {
      setUri(request.uri);
      run(request.uri, depth);
    }
  }, [request?.nonce]);

  const open = (n: ILineageNode) => {
    const u = n.uri ? parseURI(n.uri) : null;
    if (u) {
      ctx.openDetails(u.repo, u.ref, u.path);
    }
  };
  const recenter = (n: ILineageNode) => {
    if (n.uri) {
      setUri(n.uri);
      run(n.uri, depth);
    }
  };
  const extra = selected
    ? Object.entries(selected).filter(
        ([k, v]) =>
          !['id', 'kind', 'label', 'uri', 'center'].includes(k) &&
          v !== null &&
          v !== undefined &&
          v !== ''
      )
    : [];
  return (
    <div className={`jp-BlackLake-lineage jp-BlackLake-grow${props.inPanel ? '' : ' jp-BlackLake-wide'}`}>
      <form
        className="jp-BlackLake-lineageForm"
        onSubmit={e => {
          e.preventDefault();
          run(uri, depth);
        }}
      >
        <input
          className="jp-mod-styled"
          name="uri"
          value={uri}
          onChange={e => setUri(e.target.value)}
          placeholder="blacklake://repo/ref/path"
          aria-label="URI of a model or dataset"
        />
        <select
          className="jp-mod-styled"
          value={depth}
          onChange={e => {
            const d = Number(e.target.value);
            setDepth(d);
            if (graph) {
              run(uri, d);
            }
          }}
          aria-label="Depth"
        >
          <option value={1}>1 level</option>
          <option value={2}>2 levels</option>
          <option value={3}>3 levels</option>
        </select>
        <button type="submit" className="jp-BlackLake-button jp-mod-accept">
          Show
        </button>
        {props.inPanel && graph ? (
          <button
            type="button"
            className="jp-BlackLake-button jp-BlackLake-openLarge"
            title="Open this graph in the main area"
            onClick={() => ctx.openLineage(graph.uri)}
          >
            ⤢ Main area
          </button>
        ) : null}
      </form>
      {!graph && !error && !loading ? (
        <div className="jp-BlackLake-empty">
          Open a file’s details and choose Lineage, or enter a blacklake:// URI: the graph shows
          its datasets, base models, the commits and runs that wrote it, and files that share
          its chunks.
        </div>
      ) : null}
      {error ? <div className="jp-BlackLake-error">{error}</div> : null}
      {loading ? <div className="jp-BlackLake-muted">Loading lineage…</div> : null}
      {graph ? (
        <>
          <div className="jp-BlackLake-legend">
            {Array.from(new Set(graph.nodes.map(n => n.kind))).map(k => (
              <span key={k} className={`jp-BlackLake-legendItem jp-BlackLake-node-${k}`}>
                <span className="jp-BlackLake-swatch" />
                {k}
              </span>
            ))}
            <span className="jp-BlackLake-muted">
              {graph.nodes.length} nodes · {graph.edges.length} edges
              {graph.truncated ? ' (truncated)' : ''}
            </span>
          </div>
          <div className="jp-BlackLake-lineageScroll">
            <LineageGraph
              graph={graph}
              selected={selected?.id ?? null}
              onSelect={setSelected}
              onOpen={open}
            />
          </div>
          {selected ? (
            <div className="jp-BlackLake-nodeInfo" data-node={selected.id}>
              <div>
                <span className="jp-BlackLake-badge jp-BlackLake-kind">{selected.kind}</span>{' '}
                <b>{selected.label}</b>
              </div>
              {selected.uri ? <code className="jp-BlackLake-uri">{selected.uri}</code> : null}
              {extra.map(([k, v]) => (
                <div key={k} className="jp-BlackLake-muted">
                  {k}: {k === 'time' ? formatTime(String(v)) : formatValue(v)}
                </div>
              ))}
              {selected.uri ? (
                <div className="jp-BlackLake-actions">
                  <button className="jp-BlackLake-button" onClick={() => open(selected)}>
                    Open details
                  </button>
                  <button className="jp-BlackLake-button" onClick={() => copyURI(selected.uri!)}>
                    Copy URI
                  </button>
                  {selected.id !== graph.center ? (
                    <button className="jp-BlackLake-button" onClick={() => recenter(selected)}>
                      Center here
                    </button>
                  ) : null}
                </div>
              ) : null}
            </div>
          ) : null}
        </>
      ) : null}
    </div>
  );
}

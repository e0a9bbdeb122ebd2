/**
 * Lineage graph layout: layers by edge direction (edges point downstream: dataset -> model,
 * base -> fine-tune, run -> commit -> asset), left to right, with a few barycentre sweeps to
 * reduce crossings. Pure, so Jest checks it; `components/Lineage.tsx` draws it as SVG.
 */

export interface ILayoutInput {
  nodes: { id: string }[];
  edges: { source: string; target: string }[];
}

export interface IPlacedNode {
  id: string;
  layer: number;
  order: number;
  x: number;
  y: number;
}

export interface ILineageLayout {
  nodes: Map<string, IPlacedNode>;
  width: number;
  height: number;
  layers: number;
}

export interface ILayoutOptions {
  nodeWidth: number;
  nodeHeight: number;
  layerGap: number;
  rowGap: number;
  margin: number;
}

export const DEFAULT_LAYOUT: ILayoutOptions = {
  nodeWidth: 150,
  nodeHeight: 30,
  layerGap: 50,
  rowGap: 12,
  margin: 10
};

/**
 * Layer of each node: the longest chain of edges leading to it (cycles, which lineage should
 * not have, are broken by ignoring edges that close one).
 */
export function assignLayers(input: ILayoutInput): Map<string, number> {
  const ids = input.nodes.map(n => n.id);
  const known = new Set(ids);
  const out = new Map<string, string[]>();
  for (const id of ids) {
    out.set(id, []);
  }
  for (const e of input.edges) {
    if (known.has(e.source) && known.has(e.target) && e.source !== e.target) {
      (out.get(e.source) as string[]).push(e.target);
    }
  }
  // Depth-first search for a topological order, skipping back edges (cycle breaking).
  const state = new Map<string, number>(); // 1 visiting, 2 done
  const order: string[] = [];
  const kept = new Map<string, string[]>();
  for (const id of ids) {
    kept.set(id, []);
  }
  for (const root of ids) {
    if (state.get(root)) {
      continue;
    }
    const stack: [string, number][] = [[root, 0]];
    state.set(root, 1);
    while (stack.length) {
      const top = stack[stack.length - 1];
      const [id, i] = top;
      const next = out.get(id) as string[];
      if (i < next.length) {
        top[1]++;
        const t = next[i];
        const s = state.get(t);
        if (s === 1) {
          continue; // back edge: would close a cycle
        }
        (kept.get(id) as string[]).push(t);
        if (!s) {
          state.set(t, 1);
          stack.push([t, 0]);
        }
      } else {
        state.set(id, 2);
        order.push(id);
        stack.pop();
      }
    }
  }
  order.reverse();
  const layer = new Map<string, number>(ids.map(id => [id, 0]));
  for (const id of order) {
    const l = layer.get(id) as number;
    for (const t of kept.get(id) as string[]) {
      if ((layer.get(t) as number) < l + 1) {
        layer.set(t, l + 1);
      }
    }
  }
  return layer;
}

/** Place nodes: x by layer, y by position in the layer (ordered by barycentre sweeps). */
export function layoutLineage(
  input: ILayoutInput,
  options: Partial<ILayoutOptions> = {}
): ILineageLayout {
  const o = { ...DEFAULT_LAYOUT, ...options };
  const layerOf = assignLayers(input);
  const nLayers = input.nodes.length
    ? Math.max(...[...layerOf.values()]) + 1
    : 0;
  const layers: string[][] = Array.from({ length: nLayers }, () => []);
  for (const n of input.nodes) {
    layers[layerOf.get(n.id) as number].push(n.id);
  }
  const neighbours = new Map<string, string[]>();
  for (const n of input.nodes) {
    neighbours.set(n.id, []);
  }
  for (const e of input.edges) {
    if (neighbours.has(e.source) && neighbours.has(e.target)) {
      (neighbours.get(e.source) as string[]).push(e.target);
      (neighbours.get(e.target) as string[]).push(e.source);
    }
  }
  const pos = new Map<string, number>();
  const renumber = () =>
    layers.forEach(layer => layer.forEach((id, i) => pos.set(id, i)));
  renumber();
  const sweep = (range: number[], side: number) => {
    for (const l of range) {
      const ref = l + side;
      if (ref < 0 || ref >= nLayers) {
        continue;
      }
      const bary = new Map<string, number>();
      for (const id of layers[l]) {
        const ns = (neighbours.get(id) as string[]).filter(
          n => layerOf.get(n) === ref
        );
        bary.set(
          id,
          ns.length
            ? ns.reduce((s, n) => s + (pos.get(n) as number), 0) / ns.length
            : (pos.get(id) as number)
        );
      }
      layers[l].sort(
        (a, b) =>
          (bary.get(a) as number) - (bary.get(b) as number) ||
          (pos.get(a) as number) - (pos.get(b) as number)
      );
      layers[l].forEach((id, i) => pos.set(id, i));
    }
  };
  const down = Array.from({ length: nLayers }, (_, i) => i);
  const up = [...down].reverse();
  for (let i = 0; i < 3; i++) {
    sweep(down, -1);
    sweep(up, +1);
  }
  renumber();
  const tallest = Math.max(0, ...layers.map(l => l.length));
  const rowPitch = o.nodeHeight + o.rowGap;
  const height = tallest ? o.margin * 2 + tallest * rowPitch - o.rowGap : 0;
  const nodes = new Map<string, IPlacedNode>();
  layers.forEach((layer, l) => {
    // centre each layer vertically
    const offset = ((tallest - layer.length) * rowPitch) / 2;
    layer.forEach((id, i) => {
      nodes.set(id, {
        id,
        layer: l,
        order: i,
        x: o.margin + l * (o.nodeWidth + o.layerGap),
        y: o.margin + offset + i * rowPitch
      });
    });
  });
  const width = nLayers
    ? o.margin * 2 + nLayers * o.nodeWidth + (nLayers - 1) * o.layerGap
    : 0;
  return { nodes, width, height, layers: nLayers };
}

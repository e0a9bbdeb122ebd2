// LineageGraph: a left-to-right SVG of the lineage neighbourhood of one URI.
// The graph is the REST API's `GET lineage` document (docs/rest-api.md): nodes {id, kind,
// label, uri?, center?, ...}, edges {source, target, kind} pointing downstream.
// Upstream (datasets, base models, runs, commits) to the left, downstream (fine-tunes) to
// the right; click a node to select its URI, double-click to re-centre the graph on it.
// (Helpers h, svg, blFrame, ... come from _common.js, prepended by _base.py.)

const NODE_W = 220;
const NODE_H = 46;
const GAP_X = 150;
const GAP_Y = 20;
const PAD = 12;
// Edge kinds, in legend order.
const EDGE_KINDS = {
  base_model: "base model → fine-tune",
  dataset: "dataset → trained on it",
  contains: "contains",
  shares_chunks: "shares chunks",
  identical: "identical file",
  wrote: "commit wrote it",
  produced: "run made the commit",
};
const NODE_KINDS = ["model", "dataset", "file", "dir", "commit", "run"];
// Chunk sharing places nodes only after declared lineage, history and containment do.
const SHARING = new Set(["shares_chunks", "identical"]);

function kindClass(kind) {
  return String(kind).replace(/[^a-z_-]/g, "");
}

function clip(s, n) {
  const t = String(s || "");
  return t.length > n ? t.slice(0, n - 1) + "…" : t;
}

/** Give nodes next to placed ones a column: a source one left of its target. */
function propagate(level, edges, limit) {
  for (let pass = 0; pass <= limit; pass += 1) {
    let changed = false;
    for (const e of edges) {
      const s = level.get(e.source);
      const t = level.get(e.target);
      if (s !== undefined && t === undefined) {
        level.set(e.target, s + 1);
        changed = true;
      } else if (t !== undefined && s === undefined) {
        level.set(e.source, t - 1);
        changed = true;
      }
    }
    if (!changed) return;
  }
}

/** Column (level) and row of every node: edges point downstream, so a source sits one
 * column left of its target; nodes are stacked in their column, the centre first. Declared
 * lineage places nodes before chunk sharing does (a base model that also shares chunks
 * stays on the left of its fine-tune). */
function placeNodes(graph) {
  const nodes = graph.nodes || [];
  const all = graph.edges || [];
  const level = new Map();
  if (graph.center) level.set(graph.center, 0);
  propagate(level, all.filter((e) => !SHARING.has(e.kind)), nodes.length);
  propagate(level, all.filter((e) => SHARING.has(e.kind)), nodes.length);
  for (const n of nodes) if (!level.has(n.id)) level.set(n.id, 0);
  const levels = [...new Set(level.values())].sort((a, b) => a - b);
  const columns = levels.map((l) => nodes.filter((n) => level.get(n.id) === l)
    .sort((a, b) => (b.center ? 1 : 0) - (a.center ? 1 : 0) ||
      String(a.label).localeCompare(String(b.label))));
  const tallest = Math.max(1, ...columns.map((c) => c.length));
  const pos = new Map();
  columns.forEach((col, ci) => {
    const offset = ((tallest - col.length) * (NODE_H + GAP_Y)) / 2;
    col.forEach((n, ri) => {
      pos.set(n.id, { x: PAD + ci * (NODE_W + GAP_X), y: PAD + offset + ri * (NODE_H + GAP_Y) });
    });
  });
  return {
    pos,
    width: PAD * 2 + columns.length * NODE_W + (columns.length - 1) * GAP_X,
    height: PAD * 2 + tallest * NODE_H + (tallest - 1) * GAP_Y,
  };
}

/** The cubic curve from node a to node b: {d, at(t)} (at: a point along it, for labels). */
function edgePath(a, b) {
  const ay = a.y + NODE_H / 2;
  const by = b.y + NODE_H / 2;
  let p0;
  let p3;
  let c1;
  let c2;
  if (b.x !== a.x) {
    const forward = b.x > a.x;
    p0 = [forward ? a.x + NODE_W : a.x, ay];
    p3 = [forward ? b.x : b.x + NODE_W, by];
    const mid = (p0[0] + p3[0]) / 2;
    c1 = [mid, ay];
    c2 = [mid, by];
  } else {  // same column: bulge out to the right
    const x = a.x + NODE_W;
    const bulge = x + GAP_X * 0.6;
    p0 = [x, ay];
    p3 = [x, by];
    c1 = [bulge, ay];
    c2 = [bulge, by];
  }
  const at = (t) => {
    const u = 1 - t;
    const k = [u * u * u, 3 * u * u * t, 3 * u * t * t, t * t * t];
    return [0, 1].map((i) => k[0] * p0[i] + k[1] * c1[i] + k[2] * c2[i] + k[3] * p3[i]);
  };
  return { d: `M ${p0[0]} ${p0[1]} C ${c1[0]} ${c1[1]}, ${c2[0]} ${c2[1]}, ${p3[0]} ${p3[1]}`, at };
}

/** The second line of a node: its kind and where it is (or who made it). */
function nodeSub(n) {
  if (n.kind === "commit") {
    return ["commit", shortId(n.commit), n.author, shortTime(n.time)].filter(Boolean).join(" · ");
  }
  if (n.kind === "run") return ["run", n.key].filter(Boolean).join(" · ");
  if (!n.uri) return n.kind + " · not in the store";
  const size = typeof n.size === "number" ? humanSize(n.size) : "";
  return [n.kind, n.repo + "@" + n.ref, n.format, size].filter(Boolean).join(" · ");
}

/** The tooltip of a node: everything known about it, one fact a line. */
function nodeTitle(n) {
  const lines = [n.kind + ": " + n.label, n.uri || n.id];
  if (n.kind === "commit") {
    lines.push(["by " + n.author, shortTime(n.time)].filter(Boolean).join(", "));
    if (n.meta && Object.keys(n.meta).length) lines.push(metaText(n.meta));
  }
  if (n.license) lines.push("license: " + n.license);
  return lines.join("\n");
}

function render({ model, el, experimental }) {
  const frame = blFrame(model, el, experimental, "BlackLake lineage");
  const where = h("code", { class: "bl-where" });
  const depth = h("select", { class: "bl-select", "aria-label": "depth" },
    [1, 2, 3].map((d) => h("option", { value: d }, "depth " + d)));
  frame.toolbar.append(where, depth);
  const canvas = h("div", { class: "bl-graph" });
  const legend = h("div", { class: "bl-legend" });
  frame.body.append(canvas, legend);
  const unselect = blSelection(model, frame.footer);
  const markerId = "bl-arrow-" + Math.random().toString(36).slice(2);

  depth.addEventListener("change", () => frame.call("cmd_load", { depth: Number(depth.value) }));

  function draw() {
    const graph = model.get("graph") || {};
    const nodes = graph.nodes || [];
    where.textContent = model.get("uri") || "";
    depth.value = String(model.get("depth") || 1);
    const present = new Set((graph.edges || []).map((e) => e.kind));
    legend.replaceChildren(
      ...Object.entries(EDGE_KINDS).filter(([kind]) => present.has(kind)).map(([kind, label]) =>
        h("span", { class: "bl-legend-item bl-rel-" + kind }, h("span", { class: "bl-swatch" }),
          label)),
      h("span", { class: "bl-note", text: "click: select · double-click: centre on it" }));
    if (!nodes.length) {
      canvas.replaceChildren(h("div", { class: "bl-empty", text: "(nothing to show)" }));
      return;
    }
    const { pos, width, height } = placeNodes(graph);
    const selected = model.get("selected") || "";
    const defs = svg("defs", {},
      svg("marker", { id: markerId, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7,
        markerHeight: 7, orient: "auto-start-reverse" },
      svg("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "bl-arrow" })));
    // Colour and dash say the edge kind (see the legend; each edge's tooltip names it);
    // only chunk sharing carries a label, its share, near the far end of the edge.
    const edgeEls = (graph.edges || []).filter((e) => pos.has(e.source) && pos.has(e.target))
      .map((e) => {
        const p = edgePath(pos.get(e.source), pos.get(e.target));
        let name = EDGE_KINDS[e.kind] || String(e.kind);
        const share = typeof e.shared_fraction === "number"
          ? Math.round(e.shared_fraction * 100) + "%" : "";
        if (share) name += " (" + share + " of the bytes)";
        const [lx, ly] = p.at(0.8);
        return svg("g", { class: "bl-edge bl-rel-" + kindClass(e.kind) },
          svg("title", { text: name }),
          svg("path", { d: p.d, "marker-end": `url(#${markerId})` }),
          share ? svg("text", { x: lx, y: ly - 5, "text-anchor": "middle", text: share }) : null);
      });
    const nodeEls = nodes.map((n) => {
      const p = pos.get(n.id);
      const kind = NODE_KINDS.includes(n.kind) ? n.kind : "file";
      const uri = typeof n.uri === "string" && n.uri ? n.uri : "";
      const g = svg("g", {
        class: "bl-node bl-kind-" + kind + (n.center ? " bl-center" : "") +
          (uri && uri === selected ? " bl-chosen" : "") + (uri ? "" : " bl-static"),
        transform: `translate(${p.x}, ${p.y})`, role: uri ? "button" : "img",
        "aria-label": n.label + " (" + (uri || n.id) + ")",
      },
      svg("title", { text: nodeTitle(n) }),
      svg("rect", { width: NODE_W, height: NODE_H, rx: kind === "run" ? NODE_H / 2 : 6,
        ry: kind === "run" ? NODE_H / 2 : 6 }),
      svg("text", { x: 10, y: 19, class: "bl-node-label", text: clip(n.label, 26) }),
      svg("text", { x: 10, y: 36, class: "bl-node-sub", text: clip(nodeSub(n), 33) }));
      if (uri) {  // runs and unmatched dataset names have no URI: nothing to select or open
        activatable(g, () => frame.call("cmd_select", { uri }));
        g.addEventListener("dblclick", () => frame.call("cmd_load", { uri }));
      }
      return g;
    });
    const picture = svg("svg", {
      class: "bl-svg", width, height, viewBox: `0 0 ${width} ${height}`,
      role: "img", "aria-label": "lineage graph",
    }, defs, edgeEls, nodeEls);
    const notes = graph.truncated ? [h("div", { class: "bl-note",
      text: "Only part of the neighbourhood is shown (too many related items)." })] : [];
    canvas.replaceChildren(picture, ...notes);
  }
  draw();
  const unwatch = blWatch(model, ["graph", "selected", "uri", "depth"], draw);
  return () => {
    unwatch();
    unselect();
    frame.dispose();
  };
}

export default { render };

// SearchBox: a query field, optional facet filters, and the hits as a list.
// Selecting a hit sends its URI to Python (the `selected` trait).
// (Helpers h, blFrame, ... come from _common.js, prepended by _base.py.)

function render({ model, el, experimental }) {
  const frame = blFrame(model, el, experimental, "BlackLake search");
  const input = h("input", {
    class: "bl-input bl-query", type: "search", "aria-label": "search query",
    placeholder: "e.g. a small German sentiment model with a permissive licence",
  });
  const filters = h("input", {
    class: "bl-input bl-filters", type: "text", "aria-label": "filters",
    placeholder: "filters: license_family=permissive language=de parameters<1e9",
  });
  const go = h("button", { class: "bl-button bl-primary", type: "submit" }, "Search");
  const form = h("form", { class: "bl-search-form", role: "search" }, input, filters, go);
  frame.toolbar.append(form);
  const list = h("ol", { class: "bl-list bl-hits", role: "listbox", "aria-label": "results" });
  frame.body.append(list);
  const unselect = blSelection(model, frame.footer);

  input.value = model.get("query") || "";
  filters.value = (model.get("filters") || []).join(" ");

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const parts = filters.value.split(/\s+/).filter((f) => f.length > 0);
    frame.call("cmd_search", { query: input.value, filters: parts });
  });

  function facts(hit) {
    const f = hit.facts || {};
    const out = [];
    for (const key of ["format", "framework", "task", "license"]) {
      if (f[key]) out.push(String(f[key]));
    }
    if (Array.isArray(f.language) && f.language.length) out.push(f.language.join("/"));
    if (hit.parameters) out.push(Number(hit.parameters).toLocaleString() + " params");
    return out.join(" · ");
  }

  function why(hit) {
    const w = hit.why || {};
    const out = [];
    if (w.matched_terms && w.matched_terms.length) out.push("matched: " + w.matched_terms.join(", "));
    if (typeof w.similarity === "number") out.push("similarity " + w.similarity.toFixed(2));
    return out.join(" · ");
  }

  function draw() {
    if (document.activeElement !== input) input.value = model.get("query") || "";
    if (document.activeElement !== filters) filters.value = (model.get("filters") || []).join(" ");
    const selected = model.get("selected") || "";
    const hits = model.get("results") || [];
    const rows = hits.map((hit) => {
      const chosen = hit.uri === selected;
      const row = h("li", {
        class: "bl-row bl-hit" + (chosen ? " bl-chosen" : ""), role: "option",
        "aria-selected": chosen ? "true" : "false",
      },
      h("div", { class: "bl-hit-head" },
        h("span", { class: "bl-badge bl-kind-" + (hit.kind === "dataset" ? "dataset" : "model"),
          text: hit.kind }),
        h("span", { class: "bl-name", text: hit.name }),
        h("span", { class: "bl-score", text: Number(hit.score).toFixed(4) })),
      h("code", { class: "bl-uri", text: hit.uri }),
      h("div", { class: "bl-facts", text: facts(hit) }),
      h("div", { class: "bl-why", text: why(hit) }));
      return activatable(row, () => frame.call("cmd_select", { uri: hit.uri }));
    });
    if (!rows.length && model.get("searched")) {
      rows.push(h("li", { class: "bl-empty",
        text: "No good match. Try other words or fewer filters." }));
    }
    list.replaceChildren(...rows);
  }
  draw();
  const unwatch = blWatch(model, ["results", "selected", "query", "filters", "searched"], draw);
  return () => {
    unwatch();
    unselect();
    frame.dispose();
  };
}

export default { render };

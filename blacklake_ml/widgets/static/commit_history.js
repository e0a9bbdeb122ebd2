// CommitHistory: the log of a ref; a selected commit's changes, or any two compared.
// (Helpers h, blFrame, ... come from _common.js, prepended by _base.py.)

function render({ model, el, experimental }) {
  const frame = blFrame(model, el, experimental, "BlackLake history");
  const where = h("span", { class: "bl-where" });
  const reload = h("button", { class: "bl-button", type: "button", title: "Reload" }, "⟳");
  frame.toolbar.append(where, reload);
  const hint = h("div", { class: "bl-note",
    text: "Click a commit to see what it changed; shift-click another to compare the two." });
  const list = h("ul", { class: "bl-list", role: "listbox", "aria-label": "commits" });
  const diffBox = h("div", { class: "bl-diff" });
  frame.body.append(hint, list, diffBox);
  const unselect = blSelection(model, frame.footer);
  reload.addEventListener("click", () => frame.call("cmd_load", {}));

  function selectedId() {
    const uri = model.get("selected") || "";
    return uri ? uri.slice(uri.lastIndexOf("/") + 1) : "";
  }

  function drawCommits() {
    const path = model.get("path");
    where.textContent = model.get("repo") + "@" + model.get("ref") + (path ? " — " + path : "");
    const chosen = selectedId();
    const diff = model.get("diff") || {};
    const rows = (model.get("commits") || []).map((c) => {
      const isChosen = c.id === chosen;
      const inDiff = c.id === diff.a || c.id === diff.b;
      const row = h("li", {
        class: "bl-row bl-commit" + (isChosen ? " bl-chosen" : "") +
          (inDiff && !isChosen ? " bl-compared" : ""),
        role: "option", "aria-selected": isChosen ? "true" : "false", title: c.id,
      },
      h("code", { class: "bl-id", text: shortId(c.id) }),
      h("span", { class: "bl-message", text: c.message }),
      h("span", { class: "bl-author", text: c.author }),
      h("span", { class: "bl-time", text: shortTime(c.time) }));
      return activatable(row, (ev) => {
        const current = selectedId();
        if (ev.shiftKey && current && current !== c.id) {
          frame.call("cmd_compare", { a: current, b: c.id });
        } else {
          frame.call("cmd_select", { commit: c.id });
        }
      });
    });
    if (!rows.length) rows.push(h("li", { class: "bl-empty", text: "(no commits)" }));
    list.replaceChildren(...rows);
  }

  function section(label, cls, items, describe) {
    if (!items || !items.length) return null;
    return h("div", { class: "bl-diff-section " + cls },
      h("div", { class: "bl-diff-label", text: label + " (" + items.length + ")" }),
      h("ul", { class: "bl-list" }, items.map((e) =>
        h("li", { class: "bl-row" },
          h("span", { class: "bl-name", text: e.path }),
          h("span", { class: "bl-size", text: describe(e) })))));
  }

  function drawDiff() {
    const d = model.get("diff") || {};
    if (!d.b) {
      diffBox.replaceChildren();
      return;
    }
    const title = d.a ? "Changes " + shortId(d.a) + " → " + shortId(d.b)
      : "Files of the first commit " + shortId(d.b);
    const parts = [
      section("added", "bl-added", d.added, (e) => humanSize(e.size)),
      section("removed", "bl-removed", d.removed, (e) => humanSize(e.size)),
      section("modified", "bl-modified", d.modified, (e) => {
        const delta = e.size_delta || 0;
        const sign = delta > 0 ? "+" : delta < 0 ? "−" : "±";
        return (e.changes || []).join(", ") + " " + sign + humanSize(Math.abs(delta));
      }),
    ].filter(Boolean);
    if (!parts.length) parts.push(h("div", { class: "bl-empty", text: "no file changes" }));
    diffBox.replaceChildren(h("div", { class: "bl-diff-title", text: title }), ...parts);
  }

  function drawAll() {
    drawCommits();
    drawDiff();
  }
  drawAll();
  const unwatch = blWatch(model, ["commits", "diff", "selected", "repo", "ref", "path"],
    drawAll);
  return () => {
    unwatch();
    unselect();
    frame.dispose();
  };
}

export default { render };

// RepoBrowser: repository and ref pickers, breadcrumbs, the folder's entries.
// (Helpers h, blFrame, ... come from _common.js, prepended by _base.py.)

function render({ model, el, experimental }) {
  const frame = blFrame(model, el, experimental, "BlackLake repository");
  const repoSelect = h("select", { class: "bl-select", "aria-label": "repository" });
  const refSelect = h("select", { class: "bl-select", "aria-label": "branch, tag or alias" });
  const reload = h("button", { class: "bl-button", type: "button", title: "Reload" }, "⟳");
  frame.toolbar.append(repoSelect, refSelect, reload);
  const crumbs = h("nav", { class: "bl-crumbs", "aria-label": "folder" });
  const list = h("ul", { class: "bl-list", role: "listbox", "aria-label": "files" });
  const more = h("div", { class: "bl-note", hidden: true });
  frame.body.append(crumbs, list, more);
  const unselect = blSelection(model, frame.footer);

  repoSelect.addEventListener("change", () => frame.call("cmd_open", { repo: repoSelect.value }));
  refSelect.addEventListener("change", () => frame.call("cmd_open", { ref: refSelect.value }));
  reload.addEventListener("click", () => frame.call("cmd_refresh", {}));

  function drawPickers() {
    const repo = model.get("repo");
    repoSelect.replaceChildren(
      ...(model.get("repos") || []).map((r) =>
        h("option", { value: r.name, title: r.description || "", selected: r.name === repo },
          r.name)));
    const refs = model.get("refs") || {};
    const ref = model.get("ref");
    const groups = [["branches", "branches"], ["tags", "tags"], ["aliases", "aliases"]];
    const known = new Set();
    const children = [];
    for (const [key, label] of groups) {
      const names = refs[key] || [];
      if (!names.length) continue;
      names.forEach((n) => known.add(n));
      children.push(h("optgroup", { label },
        names.map((n) => h("option", { value: n, selected: n === ref }, n))));
    }
    if (ref && !known.has(ref)) {
      children.unshift(h("option", { value: ref, selected: true }, shortId(ref)));
    }
    refSelect.replaceChildren(...children);
  }

  function drawCrumbs() {
    const repo = model.get("repo") || "";
    const path = model.get("path") || "";
    const parts = path ? path.split("/") : [];
    const items = [h("button", {
      class: "bl-crumb", type: "button",
      onclick: () => frame.call("cmd_open", { path: "" }),
    }, repo + "@" + (model.get("ref") || ""))];
    parts.forEach((part, i) => {
      const target = parts.slice(0, i + 1).join("/");
      items.push(h("span", { class: "bl-sep", text: "/" }));
      items.push(h("button", {
        class: "bl-crumb", type: "button",
        onclick: () => frame.call("cmd_open", { path: target }),
      }, part));
    });
    crumbs.replaceChildren(...items);
  }

  function drawEntries() {
    const selected = model.get("selected") || "";
    const entries = model.get("entries") || [];
    const base = "blacklake://" + model.get("repo") + "/" + model.get("ref") + "/";
    const rows = entries.map((e) => {
      const isDir = e.kind === "dir";
      const row = h("li", {
        class: "bl-row" + (isDir ? " bl-dir" : " bl-file") +
          (selected === base + e.path ? " bl-chosen" : ""),
        role: "option", title: e.path,
        "aria-selected": selected === base + e.path ? "true" : "false",
      },
      h("span", { class: "bl-icon", "aria-hidden": "true", text: isDir ? "▸" : "·" }),
      h("span", { class: "bl-name", text: e.name + (isDir ? "/" : "") }),
      h("span", { class: "bl-size", text: isDir ? "" : humanSize(e.size) }),
      h("span", { class: "bl-meta", text: metaText(e.meta) }));
      return activatable(row, () =>
        frame.call(isDir ? "cmd_open" : "cmd_select", { path: e.path }));
    });
    if (!rows.length) rows.push(h("li", { class: "bl-empty", text: "(empty)" }));
    list.replaceChildren(...rows);
    const hidden = model.get("hidden") || 0;
    more.hidden = !hidden;
    more.textContent = hidden ? hidden + " more entries not shown" : "";
  }

  function drawAll() {
    drawPickers();
    drawCrumbs();
    drawEntries();
  }
  drawAll();
  const unwatch = blWatch(model, ["repos", "refs", "repo", "ref", "path", "entries", "hidden",
    "selected"], drawAll);
  return () => {
    unwatch();
    unselect();
    frame.dispose();
  };
}

export default { render };

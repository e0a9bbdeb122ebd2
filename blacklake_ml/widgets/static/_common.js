// Helpers shared by the BlackLake notebook widgets.
//
// blacklake_ml/widgets/_base.py puts this file in front of each widget's module (anywidget
// loads a module from a string, where relative imports cannot resolve). No imports, nothing
// fetched from the network.
//
// Safety rule: every string that comes from the store (names, paths, messages, metadata,
// model cards) reaches the page through textContent / text nodes (see `h` and `svg`), never
// through innerHTML, and never as a URL attribute.

const BL_TIMEOUT_MS = 120000;
const BL_SVG_NS = "http://www.w3.org/2000/svg";

/** An element: h("div", {class: "x", onclick: fn}, "text", child, [more children]). */
function h(tag, props, ...children) {
  return blFill(document.createElement(tag), props, children);
}

/** An SVG element, filled the same way. */
function svg(tag, props, ...children) {
  return blFill(document.createElementNS(BL_SVG_NS, tag), props, children);
}

function blFill(node, props, children) {
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.setAttribute("class", String(value));
    else if (key === "text") node.textContent = String(value);
    else if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2), value);
    } else if (/^(href|src|action|formaction|xlink:href)$/i.test(key)) {
      throw new Error("blacklake widgets never set URL attributes: " + key);
    } else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function humanSize(n) {
  if (n === null || n === undefined || Number.isNaN(Number(n))) return "";
  let v = Number(n);
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return (i === 0 ? String(v) : v.toFixed(1)) + " " + units[i];
}

function shortId(id) {
  return String(id || "").slice(0, 12);
}

function shortTime(iso) {
  const s = String(iso || "");
  return s.replace("T", " ").replace(/\.\d+Z?$/, "").replace(/Z$/, "");
}

/** "k=v, k=v" of a metadata object (for display only). */
function metaText(meta) {
  return Object.entries(meta || {})
    .map(([k, v]) => k + "=" + (typeof v === "string" ? v : JSON.stringify(v)))
    .join(", ");
}

/** Activate `fn` on click and on Enter/Space, for a focusable row. */
function activatable(node, fn) {
  node.setAttribute("tabindex", "0");
  node.addEventListener("click", (ev) => fn(ev));
  node.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" || ev.key === " ") {
      ev.preventDefault();
      fn(ev);
    }
  });
  return node;
}

/**
 * The frame every widget draws in: title, toolbar, status line, body and error line.
 * Returns {root, toolbar, body, footer, call, dispose}; `call(name, msg)` invokes a Python
 * command (showing a busy state, returning the answer or null after showing the error).
 */
function blFrame(model, el, experimental, title) {
  const toolbar = h("div", { class: "bl-toolbar" });
  const status = h("span", { class: "bl-status", role: "status" });
  const error = h("div", { class: "bl-error", role: "alert", hidden: true });
  const body = h("div", { class: "bl-body" });
  const footer = h("div", { class: "bl-footer" });
  const root = h("div", { class: "bl-widget" },
    h("div", { class: "bl-header" }, h("span", { class: "bl-title", text: title }), status),
    toolbar, error, body, footer);
  el.replaceChildren(root);
  let pending = 0;

  function showError(message) {
    error.textContent = message ? String(message) : "";
    error.hidden = !message;
  }
  const onError = () => showError(model.get("error"));
  model.on("change:error", onError);
  onError();

  async function call(name, msg) {
    pending += 1;
    status.textContent = "working…";
    root.classList.add("bl-busy");
    try {
      const [answer] = await experimental.invoke(name, msg || {}, {
        signal: AbortSignal.timeout(BL_TIMEOUT_MS),
      });
      if (!answer || !answer.ok) {
        showError((answer && answer.error) || "the request failed");
        return null;
      }
      showError("");
      return answer;
    } catch (err) {
      showError("no answer from the kernel: " + String((err && err.message) || err));
      return null;
    } finally {
      pending -= 1;
      if (pending === 0) {
        status.textContent = "";
        root.classList.remove("bl-busy");
      }
    }
  }

  function dispose() {
    model.off("change:error", onError);
  }
  return { root, toolbar, body, footer, call, dispose };
}

/**
 * Call `fn` after model changes of `names`, once per batch (Python sets several traits in
 * one message); returns an unsubscribe function.
 */
function blWatch(model, names, fn) {
  let queued = false;
  const run = () => {
    if (queued) return;
    queued = true;
    queueMicrotask(() => {
      queued = false;
      fn();
    });
  };
  const events = names.map((n) => "change:" + n);
  for (const e of events) model.on(e, run);
  return () => {
    for (const e of events) model.off(e, run);
  };
}

/** The footer line showing the selected URI. */
function blSelection(model, footer) {
  const value = h("code", { class: "bl-uri" });
  const line = h("div", { class: "bl-selected" }, h("span", { text: "selected: " }), value);
  footer.append(line);
  const draw = () => {
    const uri = model.get("selected") || "";
    value.textContent = uri || "nothing yet";
    line.classList.toggle("bl-none", !uri);
  };
  draw();
  return blWatch(model, ["selected"], draw);
}

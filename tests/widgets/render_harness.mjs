// Renders one BlackLake widget module in Node against a minimal fake DOM, with a widget's
// real state (as Python would sync it), and reports what the page would contain.
//
// usage: node render_harness.mjs MODULE.mjs STATE.json
// prints {"tags": [...], "texts": [...], "attributes": [...], "calls": [...]} after clicking
// every activatable row/node once. innerHTML and friends throw: using them fails the test.
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

class FakeNode {
  constructor() {
    this.childNodes = [];
    this.parentNode = null;
  }
  append(...items) {
    for (const item of items) {
      const node = typeof item === "string" ? new FakeText(item) : item;
      node.parentNode = this;
      this.childNodes.push(node);
    }
  }
  replaceChildren(...items) {
    this.childNodes = [];
    this.append(...items);
  }
  get textContent() {
    return this.childNodes.map((c) => c.textContent).join("");
  }
  set textContent(value) {
    this.childNodes = [];
    this.append(new FakeText(String(value)));
  }
}

class FakeText extends FakeNode {
  constructor(data) {
    super();
    this.data = String(data);
  }
  get textContent() {
    return this.data;
  }
}

const forbidden = () => {
  throw new Error("HTML parsing API used");
};

class FakeElement extends FakeNode {
  constructor(tag, ns) {
    super();
    this.tagName = tag;
    this.namespaceURI = ns || "html";
    this.attributes = {};
    this.listeners = {};
    this.hidden = false;
    this.value = "";
    const el = this;
    this.classList = {
      add() {}, remove() {}, toggle() {},
      contains: (c) => (el.attributes.class || "").split(" ").includes(c),
    };
  }
  setAttribute(k, v) {
    this.attributes[k] = String(v);
  }
  getAttribute(k) {
    return this.attributes[k];
  }
  set className(v) {
    this.attributes.class = String(v);
  }
  addEventListener(type, fn) {
    (this.listeners[type] ||= []).push(fn);
  }
  fire(type, extra) {
    for (const fn of this.listeners[type] || []) fn({ preventDefault() {}, key: "", ...extra });
  }
  set innerHTML(v) { forbidden(); }
  get innerHTML() { return forbidden(); }
  set outerHTML(v) { forbidden(); }
  insertAdjacentHTML() { forbidden(); }
}

globalThis.Node = FakeNode;
globalThis.document = {
  createElement: (t) => new FakeElement(t),
  createElementNS: (ns, t) => new FakeElement(t, ns),
  createTextNode: (t) => new FakeText(t),
  write: forbidden,
  activeElement: null,
};

const [modulePath, statePath] = process.argv.slice(2);
const state = JSON.parse(readFileSync(statePath, "utf8"));
const calls = [];
const model = {
  get: (k) => state[k],
  set: (k, v) => { state[k] = v; },
  save_changes() {},
  on() {},
  off() {},
};
const experimental = {
  invoke: async (name, msg) => {
    calls.push([name, msg]);
    return [{ ok: true }, []];
  },
};
const mod = await import(pathToFileURL(modulePath).href);
const el = new FakeElement("div");
const cleanup = mod.default.render({ model, el, experimental });
await new Promise((r) => setTimeout(r, 0));

const tags = new Set();
const texts = [];
const attributes = [];
const clickable = [];
(function walk(node) {
  if (node instanceof FakeText) {
    texts.push(node.data);
    return;
  }
  tags.add(node.tagName);
  for (const [k, v] of Object.entries(node.attributes)) attributes.push([node.tagName, k, v]);
  if (node.attributes.tabindex === "0") clickable.push(node);
  node.childNodes.forEach(walk);
})(el);
for (const node of clickable) node.fire("click", { shiftKey: false });
await new Promise((r) => setTimeout(r, 0));
if (typeof cleanup === "function") cleanup();
console.log(JSON.stringify({ tags: [...tags].sort(), texts, attributes, calls }));

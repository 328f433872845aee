// Runs api/static/api/show.js in Node against a stand-in page and a scripted API, for
// test_show_js.py: the steps and the answers come as JSON on stdin; what the script sent
// and said goes to stdout as JSON. No browser: only what the script does with the DOM
// and fetch(), which is what its tests need.
"use strict";
const fs = require("fs");
const vm = require("vm");

const input = JSON.parse(fs.readFileSync(0, "utf8"));

class Element {
  constructor(tag, id) {
    this.tagName = tag;
    this.id = id || "";
    this.attributes = {};
    this.dataset = {};
    this.style = {};
    this.children = [];
    this.listeners = {};
    this.hidden = false;
    this.disabled = false;
    this.value = "";
    this.className = "";
    this._text = "";
  }
  get textContent() {
    return this._text + this.children.map((child) => (typeof child === "string" ? child : child.textContent)).join("");
  }
  set textContent(text) {
    this._text = String(text);
    this.children = [];
  }
  get firstChild() {
    return this.children[0];
  }
  get lastChild() {
    return this.children[this.children.length - 1];
  }
  setAttribute(name, value) {
    this.attributes[name] = String(value);
  }
  getAttribute(name) {
    return this.attributes[name];
  }
  removeAttribute(name) {
    delete this.attributes[name];
  }
  addEventListener(type, listener) {
    (this.listeners[type] = this.listeners[type] || []).push(listener);
  }
  dispatch(type, event = {}) {
    const all = (this.listeners[type] || []).map((listener) => listener({ preventDefault() {}, ...event }));
    return Promise.all(all);
  }
  appendChild(child) {
    this.children.push(child);
    return child;
  }
  append(...children) {
    this.children.push(...children);
  }
  replaceChildren(...children) {
    this._text = "";
    this.children = children;
  }
  insertRow() {
    return this.appendChild(Object.assign(new Element("tr"), { insertCell: () => this.lastChild.appendChild(new Element("td")) }));
  }
  focus() {}
}

// The page: what show.html gives the script (ids, the form's fields, the count inputs).
const byId = {};
const element = (tag, id, props = {}) => (byId[id] = Object.assign(new Element(tag, id), props));
element("main", "show-page").dataset = { show: String(input.show), currency: "EUR", holdMinutes: "10", startsAt: input.starts_at || "" };
const form = element("form", "book");
element("script", "sentences")._text = JSON.stringify(input.sentences);
element("script", "outlines")._text = JSON.stringify(input.outlines);
for (const id of ["message", "seat-list", "map-area", "map", "category-key", "free-count", "hold-buttons", "held", "held-lines", "held-total", "held-timer", "person", "done", "name-error", "phone_number-error", "tickets", "seats-heading"]) {
  element("div", id);
}
// The waiting list's box, which the page draws when few seats are free (hidden if not).
const details = new Element("details");
element("section", "waitlist", { hidden: !input.waitlist, querySelector: (selector) => (selector === "details" ? details : null) });
const buttons = ["hold-picked", "hold-best", "release", "book-button"].map((id) => element("button", id));
const counts = input.counts.map(([type, name]) => Object.assign(new Element("input"), { dataset: { type, name }, value: "0" }));
const csrf = Object.assign(new Element("input"), { value: "the-csrf-token" });
form.elements = { name: Object.assign(new Element("input"), { value: "" }), phone_number: Object.assign(new Element("input"), { value: "" }) };
form.querySelector = (selector) => (selector === "[name=csrfmiddlewaretoken]" ? csrf : null);
form.querySelectorAll = (selector) => (selector === "button" ? buttons : selector.includes("type=number") ? counts : []);

const document = {
  getElementById: (id) => byId[id] || null,
  createElement: (tag) => new Element(tag),
  createElementNS: (ns, tag) => new Element(tag),
};
const window = new Element("window");

// The API: each "METHOD path" answers from its list in turn (the last answer repeats).
const sent = [];
const answers = input.answers;
async function fetch(url, options) {
  const method = options.method || "GET";
  sent.push({ method, url, headers: options.headers, body: options.body ? JSON.parse(options.body) : null, keepalive: Boolean(options.keepalive) });
  const list = answers[`${method} ${url}`] || [{ status: 404, body: { detail: "Not found." } }];
  const answer = list.length > 1 ? list.shift() : list[0];
  if (answer.fail) throw new TypeError("Failed to fetch");
  return {
    ok: answer.status >= 200 && answer.status < 300,
    status: answer.status,
    // An answer's own headers ({"Retry-After": "120"}), and a Date.
    headers: { get: (name) => (answer.headers || {})[name] ?? (name === "Date" ? new Date().toUTCString() : null) },
    json: async () => answer.body,
  };
}
window.fetch = fetch;

const context = vm.createContext({
  document,
  window,
  fetch,
  console,
  crypto: globalThis.crypto,
  history: { state: null, replaceState(state) { this.state = state; } },
  setInterval: () => 1,
  clearInterval: () => {},
});
vm.runInContext(fs.readFileSync(input.script, "utf8"), context, { filename: "show.js" });

// Lets every pending answer and what the script does with it run.
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

(async () => {
  await settle();
  for (const step of input.steps) {
    if (step.count !== undefined) {
      counts[step.count].value = step.value;
      await counts[step.count].dispatch("input");
    }
    if (step.seat) {
      const seats = byId.map.children.flatMap((svg) => (svg.children || []).filter((g) => g.attributes && g.attributes["data-seat"]));
      await seats.find((g) => g.attributes["data-seat"] === step.seat).dispatch("click");
    }
    if (step.field) form.elements[step.field].value = step.value;
    if (step.click) await byId[step.click].dispatch("click");
    if (step.submit) await form.dispatch("submit");
    if (step.window) await window.dispatch(step.window, step.event || {});
    await settle();
  }
  const message = byId.message.textContent;
  // The seats drawn free: each seat's <g> carries its status (data-status).
  const drawn = byId.map.children.flatMap((svg) => (svg.children || []).filter((g) => g.dataset && g.dataset.status));
  const free = drawn.filter((g) => g.dataset.status === "free").map((g) => g.attributes["data-seat"]);
  const countValues = counts.map((count) => String(count.value));
  // Each field refused beside it: its note's text, and its input's aria-invalid.
  const fields = Object.fromEntries(
    ["name", "phone_number"].map((name) => [name, { note: byId[`${name}-error`].hidden ? "" : byId[`${name}-error`].textContent, invalid: form.elements[name].getAttribute("aria-invalid") || null }]),
  );
  // What the page shows of its parts to pick, hold and book with.
  const shown = Object.fromEntries(["map-area", "tickets", "hold-buttons", "person"].map((id) => [id, !byId[id].hidden]));
  const waitlist = { shown: !byId.waitlist.hidden, open: Boolean(details.open) };
  process.stdout.write(JSON.stringify({ sent, message, done: byId.done.textContent, held: !byId.held.hidden, free_statuses: free, counts: countValues, fields, shown, waitlist }));
})();

// qda review queue (/review): decide on a model's suggestions with the keyboard only.
// a accept · r reject · c recode (code picker) · s skip · u undo · j/k next/previous.
// Text from the project is only ever put in the page with textContent (never innerHTML).
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const state = { models: [], labels: {}, codable: [], items: [], at: -1, explained: new Map(), stack: [],
                  busy: false, picker: [], pickerActive: 0 };
  window.qdaReview = state;  // for the browser tests

  const el = (tag, attrs = {}, text) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  };

  const say = window.qdaSay;  // toast.js

  async function api(path, options = {}) {
    const init = { headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf }, ...options };
    if (init.body && typeof init.body !== "string") init.body = JSON.stringify(init.body);
    const response = await fetch(path, init);
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw window.qdaApiError(response, data);  // toast.js: error.code, error.message
    return data;
  }
  const post = (path, body) => api(path, { method: "POST", body });

  const model = () => $("rv-model").value;
  const verb = (action, coded) => ({ accept: `Accepted “${label(coded)}”`, reject: "Rejected",
                                     recode: `Recoded as “${label(coded)}”` })[action] || action;
  const label = (code) => state.labels[code] || code;

  // ---------------------------------------------------------------- loading
  async function start() {
    const data = await api("/api/review/models");
    state.models = data.models; state.labels = data.labels; state.codable = data.codable;
    $("rv-blind").hidden = !data.blind;
    const select = $("rv-model");
    select.textContent = "";
    for (const m of [...data.models].reverse()) {
      select.append(el("option", { value: m.id }, `${m.machine_coder} · from ${m.from}`));
    }
    await loadQueue();
  }

  async function loadQueue(keepCode = true) {
    const codeSelect = $("rv-code");
    const wanted = keepCode ? codeSelect.value : "";
    if (!model()) { render(); return; }
    const params = new URLSearchParams({ model: model(), order: $("rv-order").value });
    if (wanted) params.set("code", wanted);
    let data;
    try { data = await api("/api/review/queue?" + params); } catch (error) { say(error.message, "error"); return; }
    const all = await api("/api/review/queue?" + new URLSearchParams({ model: model(), limit: "0" })).catch(() => data);
    codeSelect.textContent = "";
    const total = Object.values(all.codes).reduce((a, b) => a + b, 0);
    codeSelect.append(el("option", { value: "" }, `all codes (${total})`));
    const trained = (state.models.find((m) => m.id === model()) || { codes: [] }).codes;
    for (const code of trained) codeSelect.append(el("option", { value: code }, `${label(code)} (${all.codes[code] || 0})`));
    codeSelect.value = wanted;
    state.items = data.items.map((item) => ({ ...item, state: null }));
    state.at = state.items.length ? 0 : -1;
    render();
    provenance();
  }

  async function provenance() {
    const body = $("rv-prov").tBodies[0];
    const data = await api("/api/review/provenance").catch(() => null);
    if (!data) return;
    body.textContent = "";
    for (const c of data.codes) {
      const tr = el("tr");
      for (const v of [label(c.code), c.codings, c.from_suggestions, c.share == null ? "–" : `${Math.round(c.share * 100)} %`,
                       c.reviewed, c.accepted, c.rejected, c.recoded, c.bulk_accepted]) tr.append(el("td", {}, String(v)));
      body.append(tr);
    }
  }

  // ---------------------------------------------------------------- drawing
  function render() {
    const list = $("rv-list");
    list.textContent = "";
    const open = state.items.filter((i) => !i.state || i.state === "skip").length;
    $("rv-count").textContent = `Queue · ${open} to decide`;
    state.items.forEach((item, k) => {
      const li = el("li", { role: "option", id: `rv-item-${item.id}`, "data-id": String(item.id),
                            "aria-selected": String(k === state.at) });
      if (item.state) li.dataset.state = item.state;
      if (k === state.at) li.classList.add("focused");
      li.append(el("span", { class: "lab" }, label(item.code)), el("span", { class: "hint" }, item.score.toFixed(2)),
                el("span", { class: "snip" }, item.text));
      li.addEventListener("click", () => { state.at = k; render(); });
      list.append(li);
    });
    if (state.at >= 0) list.setAttribute("aria-activedescendant", `rv-item-${state.items[state.at].id}`);
    const focused = list.querySelector("li.focused");
    if (focused) focused.scrollIntoView({ block: "nearest" });
    show();
  }

  async function show() {
    const item = state.items[state.at];
    $("rv-empty").hidden = !!item;
    $("rv-body").hidden = !item;
    if (!item) return;
    $("rv-code-label").textContent = label(item.code);
    $("rv-where").textContent = `${item.document} · ${item.segment}`;
    $("rv-score").textContent = item.score.toFixed(3);
    $("rv-threshold").textContent = item.threshold.toFixed(3);
    $("rv-state").textContent = item.state ? `— ${item.state === "recode" ? "recoded as " + label(item.coded) : item.state + "ed"}` : "";
    const passage = $("rv-passage");
    passage.textContent = "";
    passage.append(el("span", { class: "ctx" }, (item.before.length >= 240 ? "…" : "") + item.before),
                   el("mark", {}, item.text), el("span", { class: "ctx" }, item.after + (item.after.length >= 240 ? "…" : "")));
    const id = item.id;
    let why = state.explained.get(id);
    if (!why) {
      $("rv-terms").textContent = ""; $("rv-similar").textContent = ""; $("rv-passages").hidden = true;
      try { why = await api(`/api/review/explain/${id}`); } catch (error) { say(error.message, "error"); return; }
      state.explained.set(id, why);
    }
    if (state.items[state.at] !== item) return;  // moved on while it loaded
    const terms = $("rv-terms"), similar = $("rv-similar");
    terms.textContent = ""; similar.textContent = "";
    for (const t of why.terms) {
      const li = el("li", {}, t.label);  // the term as a reader understands it (qda/suggest/results.py term_label)
      li.append(el("span", { class: "w" }, t.weight.toFixed(3)));
      terms.append(li);
    }
    // the nearest coded passages' share of the score (qda/suggest/learn.py neighbour_term), beside the terms'
    const passages = $("rv-passages");
    const compared = why.passages !== null && why.passages !== undefined;
    passages.hidden = !compared;
    passages.textContent = compared ? `Nearest coded passages: ${why.passages >= 0 ? "+" : ""}${
      why.passages.toFixed(3)} (its likeness to passages coded with this code, less its likeness to the others)` : "";
    for (const s of why.similar) {
      const li = el("li", {}, s.text);
      li.append(el("span", { class: "ref" }, `${s.ref} · ${s.similarity.toFixed(2)}`));
      similar.append(li);
    }
    if (!why.similar.length) similar.append(el("li", { class: "hint" }, "none"));
    prefetch(state.at + 1);
  }

  function prefetch(k) {
    // the next explanation loads while this one is read (it reads the project's segments: ~0.2 s)
    const item = state.items[k];
    if (!item || state.explained.has(item.id)) return;
    api(`/api/review/explain/${item.id}`).then((why) => state.explained.set(item.id, why)).catch(() => {});
  }

  function move(step) {
    if (!state.items.length) return;
    state.at = Math.max(0, Math.min(state.items.length - 1, state.at + step));
    render();
  }

  function next() {
    // the next item without a decision (after this one, then from the top); else stay
    const n = state.items.length;
    for (let d = 1; d <= n; d += 1) {
      const k = (state.at + d) % n;
      if (!state.items[k].state) { state.at = k; return; }
    }
  }

  // ---------------------------------------------------------------- decisions
  async function decide(action, code) {
    const item = state.items[state.at];
    if (!item || state.busy) return;
    if (item.state && item.state !== "skip") { say(`Decided already (${item.state}): press u to undo it`, "warn"); return; }
    state.busy = true;
    try {
      const done = await post("/api/review/decide", { suggestion: item.id, action, code });
      item.state = action; item.coded = done.coded;
      state.stack.push({ review: done.review, item: item.id });
      say(`${verb(action, done.coded)} at ${item.segment} — u undoes`);
      next();
      render();
    } catch (error) { say(error.message, "error"); } finally { state.busy = false; }
  }

  function skip() {
    const item = state.items[state.at];
    if (!item) return;
    if (!item.state) item.state = "skip";
    say(`Skipped ${label(item.code)} at ${item.segment} (nothing written)`);
    next();
    render();
  }

  async function undo() {
    if (state.busy) return;
    state.busy = true;
    try {
      const done = await post("/api/review/undo", {});
      say(done.action === "bulk accept" ? done.message : `Undone — ${verb(done.action, done.coded)} at ${done.segment}`);
      const mine = state.stack.findIndex((s) => s.review === done.review);
      if (mine >= 0 && done.action !== "bulk accept") {
        const k = state.items.findIndex((i) => i.id === state.stack[mine].item);
        state.stack.splice(mine, 1);
        if (k >= 0) { state.items[k].state = null; state.at = k; }
        render();
        provenance();
      } else {
        await loadQueue();
      }
    } catch (error) { say(error.message, "error"); } finally { state.busy = false; }
  }

  async function bulk() {
    const code = $("rv-code").value;
    if (!code) { say("Choose one code first: bulk accept is per code", "warn"); return; }
    try {
      const done = await post("/api/review/bulk", { model: model(), code, above: Number($("rv-above").value) });
      say(done.message + " — u undoes them all");
      await loadQueue();
    } catch (error) { say(error.message, "error"); }
  }

  async function retrain() {
    const button = $("rv-retrain");
    button.disabled = true;
    say("Training again with your decisions…");
    try {
      const done = await post("/api/review/retrain", { model: model() });
      await start();
      $("rv-model").value = done.model;
      await loadQueue(false);
      say(`${done.created ? "New model" : "Same model (nothing new to learn)"} ${done.machine_coder}: ` +
          `${done.suggestions} suggestions`);
    } catch (error) { say(error.message, "error"); } finally { button.disabled = false; }
  }

  // ---------------------------------------------------------------- recode: the code picker
  function openPicker() {
    const item = state.items[state.at];
    if (!item) return;
    $("rv-picker").hidden = false;
    $("rv-picker-filter").value = "";
    fillPicker();
    $("rv-picker-filter").focus();
  }
  function closePicker() {
    $("rv-picker").hidden = true;
    $("rv-list").focus();
  }
  function fillPicker() {
    const fold = (s) => (s || "").normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
    const q = fold($("rv-picker-filter").value);
    const item = state.items[state.at];
    state.picker = state.codable.filter((c) => c.id !== item.code && (fold(c.label).includes(q) || fold(c.id).includes(q)));
    state.pickerActive = 0;
    drawPicker();
  }
  function drawPicker() {
    const list = $("rv-picker-list");
    list.textContent = "";
    state.picker.forEach((c, k) => {
      const li = el("li", { role: "option", "data-code": c.id, "aria-selected": String(k === state.pickerActive) },
                    `${c.label} (${c.id})`);
      if (k === state.pickerActive) li.classList.add("active");
      list.append(li);
    });
    if (!state.picker.length) list.append(el("li", { class: "hint" }, "no code matches"));
  }
  $("rv-picker-filter").addEventListener("input", fillPicker);
  $("rv-picker-filter").addEventListener("keydown", (event) => {
    if (event.key === "Escape") { event.preventDefault(); closePicker(); say("Recode cancelled"); }
    else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const n = state.picker.length;
      if (n) state.pickerActive = (state.pickerActive + (event.key === "ArrowDown" ? 1 : n - 1)) % n;
      drawPicker();
    } else if (event.key === "Enter") {
      event.preventDefault();
      const chosen = state.picker[state.pickerActive];
      if (!chosen) { say("No code matches", "warn"); return; }
      closePicker();
      decide("recode", chosen.id);
    }
  });

  // ---------------------------------------------------------------- keyboard
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target instanceof HTMLInputElement || target instanceof HTMLSelectElement || target instanceof HTMLTextAreaElement) return;
    const keys = { a: () => decide("accept"), r: () => decide("reject"), c: openPicker, s: skip, u: undo,
                   j: () => move(1), k: () => move(-1), ArrowDown: () => move(1), ArrowUp: () => move(-1) };
    const action = keys[event.key];
    if (!action) return;
    event.preventDefault();
    action();
  });

  $("toast-close").addEventListener("click", () => say(""));
  $("rv-model").addEventListener("change", () => loadQueue(false));
  $("rv-code").addEventListener("change", () => loadQueue().then(() => $("rv-list").focus()));
  $("rv-order").addEventListener("change", () => loadQueue());
  $("rv-undo").addEventListener("click", undo);
  $("rv-retrain").addEventListener("click", retrain);
  $("rv-bulk").addEventListener("click", bulk);
  start().then(() => { $("rv-list").focus(); state.ready = true; }).catch((error) => say(error.message, "error"));
})();

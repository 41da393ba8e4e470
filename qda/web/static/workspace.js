// qda coding workspace: plain JavaScript, no build step, no network beyond this server.
// Offsets sent to and received from the API are code points (like Python str indices),
// so the text is handled as an array of code points, never as UTF-16 string indices.
// Transcript text is only ever put in the page with textContent (never innerHTML).
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const PALETTE = ["#f4a261", "#8ecae6", "#b5e48c", "#f28482", "#cdb4db", "#ffd166", "#90be6d", "#a8dadc",
                   "#e9c46a", "#bde0fe", "#ffafcc", "#c9ada7", "#9ad1d4", "#f6bd60", "#84a59d"];
  const UNDO_LIMIT = 50;
  const state = {
    session: null, codebook: null, codes: new Map(), colors: new Map(), lang: "fr",
    doc: null, cps: [], codings: [], pieces: [], pieceByStart: new Map(), pieceByEnd: new Map(),
    segments: [], cursor: -1, anchor: -1, selection: null, pickerItems: [], pickerActive: 0,
    undo: [], redo: [], idMap: new Map(), busy: false,
  };

  // ---------------------------------------------------------------- helpers
  const el = (tag, attrs = {}, text) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "class") node.className = v; else if (k === "title") node.title = v; else node.setAttribute(k, v);
    }
    if (text !== undefined) node.textContent = text;
    return node;
  };
  const fold = (s) => (s || "").normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  const cpLength = (s) => { let n = 0; for (const _ of s) n += 1; return n; };
  const slice = (a, b) => state.cps.slice(a, b).join("");
  const current = (id) => { while (state.idMap.has(id)) id = state.idMap.get(id); return id; };
  const label = (code) => (code.labels[state.lang] || Object.values(code.labels)[0] || code.id);

  function say(text, kind = "info") {
    const box = $("message");
    box.textContent = text;
    box.className = kind;
    box.hidden = !text;
    clearTimeout(say.timer);
    if (kind === "info" && text) say.timer = setTimeout(() => { box.hidden = true; }, 4000);
  }

  async function api(method, url, data) {
    const options = { method, headers: { "Accept": "application/json" }, credentials: "same-origin" };
    if (data !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(data);
    }
    if (method !== "GET") options.headers["X-CSRF-Token"] = csrf;
    const answer = await fetch(url, options);
    let body;
    try { body = await answer.json(); } catch (e) { body = { error: answer.statusText }; }
    if (!answer.ok) {
      const error = new Error(body.error || answer.statusText);
      error.status = answer.status;
      error.problems = body.problems || [];
      throw error;
    }
    return body;
  }

  function fail(error) {
    const more = error.problems && error.problems.length ? " — " + error.problems.join("; ") : "";
    say(error.message + more, "error");
  }

  // ---------------------------------------------------------------- session and codebook
  async function start() {
    state.session = await api("GET", "/api/session");
    $("blind").hidden = !state.session.blind;
    const list = $("coder-list");
    if (list) {
      for (const name of state.session.coders) list.append(el("option", { value: name }));
    }
    if (!state.session.coder) {
      if (state.choosing) return;  // a name was typed before the page finished loading
      say("Type your coder name at the top right to start coding.", "warn");
      $("coder-input") && $("coder-input").focus();
      return;
    }
    await Promise.all([loadCodebook(), route()]);
  }

  async function chooseCoder() {
    const name = $("coder-input").value.trim();
    if (!name) return;
    state.choosing = true;
    try {
      await api("POST", "/api/session", { coder: name });
    } catch (error) { fail(error); return; }
    state.undo = []; state.redo = []; updateUndo();
    say(`Coding as ${name}.`);
    state.session = await api("GET", "/api/session");
    $("blind").hidden = !state.session.blind;
    await Promise.all([loadCodebook(), route()]);
  }

  async function loadCodebook() {
    // the document may be fetched at the same time; it waits for this before drawing
    let ready;
    state.codebookReady = new Promise((resolve) => { ready = resolve; });
    try { await fillCodebook(); } finally { ready(); }
  }

  async function fillCodebook() {
    state.codebook = await api("GET", "/api/codebook");
    state.keys = null;
    state.lang = state.codebook.languages[0] || "fr";
    state.codes.clear();
    state.codebook.codes.forEach((code, i) => {
      state.codes.set(code.id, code);
      state.colors.set(code.id, code.color || PALETTE[i % PALETTE.length]);
    });
    $("codebook-rule").textContent = state.codebook.rule;
    drawCodebook();
  }

  function shortcuts() {
    // keys 1-9: the nine codes this coder used most when the page loaded (codebook order
    // breaks ties); fixed until the next load so keys do not move under the coder's fingers
    if (!state.keys) {
      const codable = state.codebook.codes.filter((c) => c.codable);
      state.keys = codable.slice().sort((a, b) => (b.count - a.count) || (codable.indexOf(a) - codable.indexOf(b)))
        .slice(0, 9).map((c) => c.id);
    }
    return state.keys;
  }

  function drawCodebook() {
    const tree = $("code-tree");
    tree.replaceChildren();
    const keys = shortcuts();
    const filter = fold($("code-filter").value);
    const shown = (code) => !filter || fold(code.id).startsWith(filter) ||
      Object.values(code.labels).some((l) => fold(l).includes(filter));
    const depthOf = new Map();
    for (const cat of state.codebook.categories) depthOf.set(cat.id, cat.parent ? (depthOf.get(cat.parent) || 0) + 1 : 0);
    const byCat = new Map();
    for (const code of state.codebook.codes) {
      if (!byCat.has(code.category)) byCat.set(code.category, []);
      byCat.get(code.category).push(code);
    }
    const addCodes = (codes, depth) => {
      for (const code of codes) {
        if (!shown(code)) continue;
        const row = el("div", { class: "code" + (code.codable ? "" : " folder"), "data-code": code.id });
        row.style.paddingLeft = `${0.4 + depth * 0.9}rem`;
        row.title = [code.definition, code.include && "Include: " + code.include,
                     code.exclude && "Exclude: " + code.exclude].filter(Boolean).join("\n");
        const swatch = el("span", { class: "swatch" });
        swatch.style.background = state.colors.get(code.id);
        const key = keys.indexOf(code.id);
        row.append(swatch, el("span", { class: "cid" }, code.id), el("span", { class: "clabel" }, label(code)),
                   el("span", { class: "count" }, String(code.count)));
        row.prepend(key >= 0 ? el("kbd", { title: `shortcut: ${key + 1}` }, String(key + 1)) : el("span", { class: "nokey" }));
        if (code.codable) row.addEventListener("click", () => codeSelection(code.id));
        tree.append(row);
      }
    };
    addCodes(byCat.get(null) || [], 0);
    for (const cat of state.codebook.categories) {
      const depth = depthOf.get(cat.id) || 0;
      const head = el("div", { class: "category", title: cat.description || "" }, cat.labels[state.lang] || cat.id);
      head.style.paddingLeft = `${0.4 + depth * 0.9}rem`;
      tree.append(head);
      addCodes(byCat.get(cat.id) || [], depth + 1);
    }
  }

  // ---------------------------------------------------------------- routing
  async function route() {
    const match = location.hash.match(/^#doc=(.+)$/);
    for (const view of ["compare", "retrieve", "search"]) $(view).hidden = location.hash !== "#" + view;
    if (["#compare", "#retrieve", "#search"].includes(location.hash)) {
      $("docview").hidden = true; $("doclist").hidden = true; $("editor").hidden = true;
      $("doc-title").textContent = "";
      state.doc = null;
    }
    if (location.hash === "#compare") await showCompare();
    else if (location.hash === "#retrieve") await showRetrieve();
    else if (location.hash === "#search") $("search-q").focus();
    else if (match) await openDocument(decodeURIComponent(match[1]));
    else await showDocuments();
  }

  // ---------------------------------------------------------------- memos on documents and codes
  async function memoBox(container, about, target) {
    const box = container.querySelector(".memo-box");
    box.replaceChildren();
    let memos;
    try {
      memos = await api("GET", `/api/memos?about=${about}&target=${encodeURIComponent(target)}`);
    } catch (error) { fail(error); return; }
    container.querySelector("summary").dataset.count = String(memos.length);
    for (const m of memos) {
      const item = el("div", { class: "memo" });
      item.append(el("div", { class: "memo-text" }, m.text), el("span", { class: "hint" }, `${m.author} · ${m.created_at}`));
      if (m.author === state.session.coder) {
        const remove = el("button", { type: "button", class: "danger" }, "Delete");
        remove.addEventListener("click", async () => {
          try { await api("DELETE", "/api/memos/" + m.id); say("Memo deleted."); } catch (error) { fail(error); }
          memoBox(container, about, target);
        });
        item.append(remove);
      }
      box.append(item);
    }
    const text = el("textarea", { rows: "2", placeholder: `a memo on ${about} ${target}`, "aria-label": `new memo on ${about}` });
    const save = el("button", { type: "button" }, "Add memo");
    save.addEventListener("click", async () => {
      try {
        await api("POST", "/api/memos", { about, target, text: text.value });
        say("Memo saved.");
        memoBox(container, about, target);
      } catch (error) { fail(error); }
    });
    box.append(text, save);
  }

  // ---------------------------------------------------------------- retrieval and search
  function kwic(before, middle, after, mark) {
    const line = el("div", { class: "kwic" });
    line.append(el("span", { class: "ctx" }, "…" + before), el(mark ? "mark" : "b", {}, middle), el("span", { class: "ctx" }, after + "…"));
    return line;
  }

  async function showRetrieve() {
    const coder = $("ret-coder");
    const options = [state.session.coder].concat(state.session.blind ? [] : state.session.coders.filter((c) => c !== state.session.coder));
    if (!state.session.blind) options.push("*");
    coder.replaceChildren(...options.map((c) => el("option", { value: c }, c === "*" ? "all coders" : c)));
    const where = $("ret-where");
    if (where.options.length <= 1) {
      const docs = await api("GET", "/api/documents");
      const seen = new Set();
      for (const d of docs) for (const [k, v] of Object.entries(d.attributes)) {
        if (seen.has(k + "=" + v)) continue;
        seen.add(k + "=" + v);
        where.append(el("option", { value: k + "=" + v }, `${k} = ${v}`));
      }
    }
    $("ret-codes").focus();
  }

  function retrieveQuery() {
    const params = new URLSearchParams({ codes: $("ret-codes").value, mode: $("ret-mode").value,
                                         not: $("ret-not").value, coder: $("ret-coder").value });
    if ($("ret-where").value) params.append("where", $("ret-where").value);
    return params;
  }

  async function runRetrieve(event) {
    event.preventDefault();
    const params = retrieveQuery();
    let rows;
    try { rows = await api("GET", "/api/retrieve?" + params); } catch (error) { fail(error); return; }
    for (const fmt of ["csv", "xlsx"]) {
      const p = new URLSearchParams(params); p.set("format", fmt);
      $("ret-" + fmt).href = "/api/retrieve?" + p;
    }
    const single = params.get("codes").split(/[,;]/).map((c) => c.trim()).filter(Boolean);
    $("code-memos").hidden = single.length !== 1 || !state.codes.has(single[0]);
    if (!$("code-memos").hidden) {
      $("code-memos").querySelector("summary b").textContent = single[0];
      memoBox($("code-memos"), "code", single[0]);
    }
    $("ret-summary").textContent = `${rows.length} passage(s) in ${new Set(rows.map((r) => r.document)).size} document(s).`;
    const list = $("ret-list");
    list.replaceChildren();
    for (const r of rows) {
      const card = el("div", { class: "cmp-card" });
      const head = el("div", { class: "hint" });
      const link = el("a", { href: "#doc=" + encodeURIComponent(r.document) }, r.document);
      head.append(link, document.createTextNode(` · case ${r.case} · ${r.coder} · ${r.code}` +
        (r.overlapping.length ? ` (with ${r.overlapping.join(", ")})` : "") + (r.memo ? ` · memo: ${r.memo}` : "")));
      card.append(head, kwic(r.before, r.text, r.after, true));
      list.append(card);
    }
  }

  let hits = [];
  async function runSearch(event) {
    event.preventDefault();
    const params = new URLSearchParams({ q: $("search-q").value, regex: $("search-regex").checked ? "1" : "0" });
    try { hits = await api("GET", "/api/search?" + params); } catch (error) { fail(error); return; }
    $("search-summary").textContent = `${hits.length} hit(s).`;
    $("search-code-form").hidden = !hits.length;
    const list = $("search-list");
    list.replaceChildren();
    hits.forEach((h, i) => {
      const row = el("label", { class: "hit" });
      const box = el("input", { type: "checkbox", "data-hit": String(i) });
      const where = el("span", { class: "hint" }, `${h.document} ${h.start}–${h.end} `);
      row.append(box, where, kwic(h.before, h.match, h.after, true));
      list.append(row);
    });
  }

  async function codeHits() {
    const code = $("search-code").value.trim();
    if (!state.codes.has(code) || !state.codes.get(code).codable) {
      say(`Unknown code '${code}'. ${state.codebook.rule}`, "error");
      return;
    }
    const ticked = [...document.querySelectorAll("#search-list input:checked")].map((b) => hits[Number(b.dataset.hit)]);
    if (!ticked.length) { say("Tick the hits to code first (each one read and checked).", "error"); return; }
    let done = 0, already = 0;
    for (const h of ticked) {
      try {
        const made = await api("POST", "/api/codings", { document: h.document, start: h.start, end: h.end, code,
                                                           snap: $("snap").value });
        record({ kind: "create", after: made });
        done += 1;
      } catch (error) {
        // a hit the coder already coded with this code is skipped, not coded twice
        if (error.status === 422 && error.message.includes("already coded")) { already += 1; continue; }
        countChange(code, done);
        fail(error);
        return;
      }
    }
    countChange(code, done);
    for (const b of document.querySelectorAll("#search-list input:checked")) { b.checked = false; b.disabled = true; }
    say(`Coded ${done} hit(s) as ${code}.` + (already ? ` ${already} already coded with ${code}: left as they were.` : ""));
  }

  // ---------------------------------------------------------------- compare and adjudicate
  const decisions = new Map();

  async function showCompare() {
    const coders = state.session.coders;
    for (const [id, pick] of [["cmp-a", 0], ["cmp-b", 1]]) {
      const select = $(id);
      const keep = select.value;
      select.replaceChildren(...coders.map((c) => el("option", { value: c }, c)));
      select.value = keep || coders[pick] || "";
    }
    const docSelect = $("cmp-doc");
    if (docSelect.options.length <= 1 && !state.session.blind) {
      try {
        for (const d of await api("GET", "/api/documents")) docSelect.append(el("option", { value: d.name }, d.name));
      } catch (error) { fail(error); }
    }
    if (state.session.blind) {
      say("Comparing coders needs blind mode lifted: start the workspace with qda serve --unblind.", "warn");
    }
  }

  async function loadDisagreements() {
    const a = $("cmp-a").value, b = $("cmp-b").value;
    let data;
    try {
      data = await api("GET", `/api/compare?a=${encodeURIComponent(a)}&b=${encodeURIComponent(b)}` +
                              `&document=${encodeURIComponent($("cmp-doc").value)}`);
    } catch (error) { fail(error); return; }
    // decisions are kept across documents (the lead may go document by document), per pair of coders
    if (decisions.pair !== `${a}|${b}`) { decisions.clear(); decisions.pair = `${a}|${b}`; }
    const list = $("cmp-list");
    list.replaceChildren();
    $("cmp-summary").textContent = `${data.disagreements.length} segment(s) where ${a} and ${b} differ` +
      ($("cmp-doc").value ? ` in ${$("cmp-doc").value}; decisions made on other documents are kept.` : ".");
    $("cmp-record-form").hidden = !data.disagreements.length;
    let lastDoc = null;
    const chips = (codes) => {
      const box = el("span", { class: "chips" });
      for (const code of codes) {
        const chip = el("span", { class: "chip", title: label(state.codes.get(code) || { id: code, labels: {} }) }, code);
        chip.style.background = tint(state.colors.get(code));
        box.append(chip);
      }
      if (!codes.length) box.append(el("span", { class: "hint" }, "no code"));
      return box;
    };
    $("cmp-spans-box").hidden = false;
    $("cmp-spans-count").textContent = String(data.spans.length);
    const spans = $("cmp-spans");
    spans.replaceChildren();
    for (const d of data.spans) {
      const card = el("div", { class: "cmp-card" });
      const sides = el("div", { class: "sides" });
      for (const [title, codes] of [[`A: ${a}`, d.a], [`B: ${b}`, d.b]]) {
        const col = el("div", { class: "side" }); col.append(el("b", {}, title), chips(codes)); sides.append(col);
      }
      card.append(el("div", { class: "hint" }, `${d.document} ${d.start}–${d.end}`), el("blockquote", {}, d.text), sides);
      spans.append(card);
    }
    data.disagreements.forEach((d, i) => {
      if (d.document !== lastDoc) { list.append(el("h2", { class: "cmp-doc" }, `${d.document} (case ${d.case})`)); lastDoc = d.document; }
      const card = el("div", { class: "cmp-card", "data-segment": d.segment });
      card.append(el("div", { class: "hint" }, `${d.segment}${d.speaker ? " · " + d.speaker : ""}`),
                  el("blockquote", {}, d.text));
      const sides = el("div", { class: "sides" });
      const side = (title, codes) => { const col = el("div", { class: "side" }); col.append(el("b", {}, title), chips(codes)); return col; };
      sides.append(side(`A: ${a}`, d.a), side(`B: ${b}`, d.b));
      card.append(sides);
      const choose = el("div", { class: "choices", role: "radiogroup", "aria-label": "decision" });
      const other = el("input", { class: "other", placeholder: "codes, e.g. a; h", "aria-label": "other codes", size: "12" });
      other.disabled = true;
      for (const choice of ["A", "B", "both", "neither", "other"]) {
        const id = `cmp-${i}-${choice}`;
        const radio = el("input", { type: "radio", name: `cmp-${i}`, id, value: choice });
        const earlier = decisions.get(d.segment);
        if (earlier && earlier.decision === choice) {
          radio.checked = true;
          other.disabled = choice !== "other";
          other.value = earlier.other || "";
        }
        radio.addEventListener("change", () => {
          other.disabled = choice !== "other";
          decisions.set(d.segment, { segment: d.segment, decision: choice, other: other.value });
          if (choice === "other") other.focus();
        });
        const lab = el("label", { for: id }, " " + choice);
        choose.append(radio, lab);
      }
      other.addEventListener("input", () => decisions.set(d.segment, { segment: d.segment, decision: "other", other: other.value }));
      choose.append(other);
      card.append(choose);
      list.append(card);
    });
  }

  async function recordDecisions() {
    try {
      const result = await api("POST", "/api/adjudicate", { a: $("cmp-a").value, b: $("cmp-b").value,
                                                            as: $("cmp-as").value.trim(), decisions: [...decisions.values()] });
      say(`Recorded ${result.decided} decision(s) as ${result.coder}; ${result.carried_over} agreed coding(s) carried over ` +
          `(${result.codings} codings in all).`);
      state.session = await api("GET", "/api/session");
    } catch (error) { fail(error); }
  }

  async function showDocuments() {
    $("docview").hidden = true; $("doclist").hidden = false; $("editor").hidden = true;
    $("doc-title").textContent = "";
    state.doc = null;
    let docs;
    try { docs = await api("GET", "/api/documents"); } catch (error) { fail(error); return; }
    const attrs = [];
    for (const d of docs) for (const k of Object.keys(d.attributes)) if (!attrs.includes(k)) attrs.push(k);
    const shownAttrs = attrs.slice(0, 4);
    const head = el("tr");
    for (const h of ["Document", "Case", ...shownAttrs, "Words", "Codings", "Progress"]) head.append(el("th", {}, h));
    const thead = $("doc-table").tHead;
    thead.replaceChildren(head);
    const body = $("doc-table").tBodies[0];
    body.replaceChildren();
    for (const d of docs) {
      const row = el("tr", { tabindex: "0", "data-doc": d.name });
      const link = el("a", { href: "#doc=" + encodeURIComponent(d.name) }, d.name);
      const first = el("td"); first.append(link); row.append(first, el("td", {}, d.case));
      for (const k of shownAttrs) row.append(el("td", {}, d.attributes[k] || ""));
      row.append(el("td", { class: "num" }, d.words.toLocaleString("en")));
      row.append(el("td", {}, Object.entries(d.codings).map(([c, n]) => `${c} ${n}`).join(", ") || "—"));
      const share = d.segments ? d.coded_segments / d.segments : 0;
      const cell = el("td", { class: "progress", title: `${d.coded_segments} of ${d.segments} segments coded by you` });
      const bar = el("span", { class: "bar" }); const fill = el("span", { class: "fill" });
      fill.style.width = `${Math.round(share * 100)}%`;
      bar.append(fill);
      cell.append(bar, el("span", { class: "pct" }, `${Math.round(share * 100)}%`));
      row.append(cell);
      row.addEventListener("keydown", (e) => { if (e.key === "Enter") location.hash = "#doc=" + encodeURIComponent(d.name); });
      body.append(row);
    }
  }

  async function openDocument(name) {
    let doc;
    try { doc = await api("GET", "/api/documents/" + encodeURIComponent(name)); } catch (error) { fail(error); return; }
    await state.codebookReady;
    state.doc = doc;
    state.cps = Array.from(doc.text);
    for (const c of doc.codings) if (c.text === undefined) c.text = slice(c.start, c.end);
    state.codings = doc.codings;
    state.segments = doc.turns.flatMap((t) => t.segments.map((s) => ({ ...s, role: t.role, speaker: t.speaker })));
    state.cursor = -1; state.anchor = -1; state.selection = null;
    $("doclist").hidden = true; $("docview").hidden = false;
    const attrs = Object.entries(doc.attributes).map(([k, v]) => `${k}: ${v}`).join(" · ");
    $("doc-title").textContent = `${doc.name} — case ${doc.case}${attrs ? " (" + attrs + ")" : ""}`;
    render();
    memoBox($("doc-memos"), "document", doc.name);
    $("text").focus({ preventScroll: true });
  }

  // ---------------------------------------------------------------- drawing the transcript
  function render() {
    const doc = state.doc;
    const n = state.cps.length;
    const bounds = new Set([0, n]);
    const roleAt = [];
    for (const t of doc.turns) {
      bounds.add(t.start); bounds.add(t.end);
      roleAt.push([t.start, t.end, t.role || "", t.speaker || ""]);
      for (const s of t.segments) { bounds.add(s.start); bounds.add(s.end); }
    }
    const codings = state.codings.slice().sort((a, b) => a.start - b.start || b.end - a.end);
    for (const c of codings) { bounds.add(c.start); bounds.add(c.end); }
    const points = [...bounds].sort((a, b) => a - b);
    const box = $("text");
    const fragment = document.createDocumentFragment();
    state.pieces = []; state.pieceByStart.clear(); state.pieceByEnd.clear();
    let active = [], next = 0, turn = 0;
    for (let i = 0; i + 1 < points.length; i += 1) {
      const a = points[i], b = points[i + 1];
      while (next < codings.length && codings[next].start <= a) active.push(codings[next++]);
      active = active.filter((c) => c.end > a);
      while (turn < roleAt.length && roleAt[turn][1] <= a) turn += 1;
      const span = el("span", { "data-s": String(a), "data-e": String(b) }, slice(a, b));
      if (turn < roleAt.length && roleAt[turn][0] <= a) span.classList.add("role-" + (roleAt[turn][2] || "other"));
      if (active.length) {
        span.classList.add("coded");
        if (active.length > 1) span.classList.add("overlap");
        span.style.backgroundColor = tint(state.colors.get(active[active.length - 1].code));
        if (active.length > 1) span.style.borderBottomColor = state.colors.get(active[0].code);
      }
      span.codings = active.map((c) => c.id);
      state.pieces.push(span);
      state.pieceByStart.set(a, span);
      state.pieceByEnd.set(b, span);
      fragment.append(span);
    }
    box.replaceChildren(fragment);
    drawCursor();
    drawMargin(codings);
    state.drawnAt = performance.now();  // read by bench/serve.py: navigation to highlights drawn
  }

  function tint(hex) {
    // a light version of a code colour as the highlight, so text stays readable
    const v = parseInt((hex || "#cccccc").slice(1), 16);
    const mix = (x) => Math.round(x + (255 - x) * 0.45);
    return `rgb(${mix(v >> 16)}, ${mix((v >> 8) & 255)}, ${mix(v & 255)})`;
  }

  function drawMargin(codings) {
    const margin = $("margin");
    const lanes = [];
    const placed = [];
    for (const c of codings) {
      let lane = lanes.findIndex((end) => end <= c.start);
      if (lane < 0) { lane = lanes.length; lanes.push(0); }
      lanes[lane] = c.end;
      placed.push([c, lane]);
    }
    const width = 16;
    margin.style.width = `${Math.max(1, lanes.length) * width + 26}px`;
    const origin = $("text").getBoundingClientRect().top;
    const fragment = document.createDocumentFragment();
    for (const [c, lane] of placed) {
      const first = state.pieceByStart.get(c.start), last = state.pieceByEnd.get(c.end);
      if (!first || !last) continue;
      const top = first.getBoundingClientRect().top - origin;
      const bottom = last.getBoundingClientRect().bottom - origin;
      const stripe = el("div", { class: "stripe", "data-id": String(c.id), role: "button",
                                 title: `${c.code} · ${c.text.slice(0, 80)}${c.memo ? "\nmemo: " + c.memo : ""}` });
      stripe.style.cssText = `top:${top}px;height:${Math.max(bottom - top, 8)}px;right:${lane * width + 4}px;` +
        `background:${state.colors.get(c.code) || "#999"}`;
      stripe.append(el("span", { class: "stripe-label" }, c.code.slice(0, 2)));
      stripe.addEventListener("click", () => openEditor([c.id]));
      fragment.append(stripe);
    }
    margin.replaceChildren(fragment);
  }

  function pieceTitle(event) {
    // hover text of a highlight: made when first hovered, not for every piece at drawing time
    const piece = event.target.closest && event.target.closest("span.coded");
    if (!piece || piece.title) return;
    const byId = new Map(state.codings.map((c) => [c.id, c]));
    piece.title = piece.codings.map((id) => byId.get(id)).filter(Boolean)
      .map((c) => `${c.code}: ${label(state.codes.get(c.code) || { id: c.code, labels: {} })}`).join("\n");
  }

  // ---------------------------------------------------------------- selecting
  function offsetOf(node, offset) {
    const box = $("text");
    if (node === box) {
      const child = box.childNodes[offset];
      return child ? Number(child.dataset.s) : state.cps.length;
    }
    const piece = (node.nodeType === Node.TEXT_NODE ? node.parentElement : node).closest("span[data-s]");
    if (!piece || !box.contains(piece)) return null;
    if (node.nodeType !== Node.TEXT_NODE) return offset ? Number(piece.dataset.e) : Number(piece.dataset.s);
    return Number(piece.dataset.s) + cpLength(node.textContent.slice(0, offset));
  }

  function onMouseUp(event) {
    const selection = window.getSelection();
    if (!selection.rangeCount) return;
    const range = selection.getRangeAt(0);
    if (!$("text").contains(range.commonAncestorContainer)) return;
    if (selection.isCollapsed) {
      const piece = event.target.closest && event.target.closest("span[data-s]");
      if (piece && piece.codings && piece.codings.length) openEditor(piece.codings);
      return;
    }
    const a = offsetOf(range.startContainer, range.startOffset);
    const b = offsetOf(range.endContainer, range.endOffset);
    if (a === null || b === null) return;
    select(Math.min(a, b), Math.max(a, b), event.clientX, event.clientY);
  }

  function select(start, end, x, y) {
    if (start >= end || !slice(start, end).trim()) {
      say("Select some text first (the selection is empty or only blanks).", "error");
      return;
    }
    state.selection = { start, end };
    openPicker(x, y);
  }

  function drawCursor() {
    for (const p of document.querySelectorAll("#text .cursor")) p.classList.remove("cursor");
    if (state.cursor < 0) return;
    const lo = Math.min(state.cursor, state.anchor), hi = Math.max(state.cursor, state.anchor);
    const a = state.segments[lo].start, b = state.segments[hi].end;
    for (const p of state.pieces) {
      if (Number(p.dataset.s) >= a && Number(p.dataset.e) <= b) p.classList.add("cursor");
    }
    const first = state.pieceByStart.get(state.segments[state.cursor].start);
    if (first) first.scrollIntoView({ block: "nearest" });
  }

  function moveCursor(step, extend) {
    if (!state.segments.length) return;
    const next = state.cursor < 0 ? 0 : Math.max(0, Math.min(state.segments.length - 1, state.cursor + step));
    state.cursor = next;
    if (!extend || state.anchor < 0) state.anchor = next;
    drawCursor();
  }

  function cursorSpan() {
    if (state.cursor < 0) return null;
    const lo = Math.min(state.cursor, state.anchor), hi = Math.max(state.cursor, state.anchor);
    return { start: state.segments[lo].start, end: state.segments[hi].end };
  }

  // ---------------------------------------------------------------- the code picker
  function openPicker(x, y) {
    const picker = $("picker");
    const { start, end } = state.selection;
    const text = slice(start, end);
    $("picker-span").textContent = `${start}–${end}: “${text.length > 70 ? text.slice(0, 70) + "…" : text}”`;
    picker.hidden = false;
    const width = 340;
    const left = Math.min(Math.max(8, (x || 200) - 20), window.innerWidth - width - 8);
    const top = Math.min((y || 200) + 12, window.innerHeight - 320);
    picker.style.left = `${left}px`;
    picker.style.top = `${Math.max(8, top)}px`;
    $("picker-input").value = "";
    fillPicker();
    $("picker-input").focus();
  }

  function closePicker() {
    $("picker").hidden = true;
    state.selection = null;
    $("text").focus({ preventScroll: true });
  }

  function fillPicker() {
    const query = fold($("picker-input").value.trim());
    const keys = shortcuts();
    const codable = state.codebook.codes.filter((c) => c.codable);
    let items;
    if (!query) {
      items = keys.map((id) => state.codes.get(id)).concat(codable.filter((c) => !keys.includes(c.id)));
    } else {
      const exact = codable.filter((c) => fold(c.id) === query);
      const prefix = codable.filter((c) => fold(c.id).startsWith(query) && !exact.includes(c));
      const labelled = codable.filter((c) => !exact.includes(c) && !prefix.includes(c) &&
        Object.values(c.labels).some((l) => fold(l).includes(query)));
      items = exact.concat(prefix, labelled);
    }
    state.pickerItems = items;
    state.pickerActive = 0;
    const list = $("picker-list");
    list.replaceChildren();
    const categories = new Map(state.codebook.categories.map((c) => [c.id, c]));
    let lastCategory;
    items.forEach((code, i) => {
      if (query && code.category !== lastCategory && code.category) {
        const cat = categories.get(code.category);
        list.append(el("li", { class: "picker-cat", role: "presentation" }, cat ? (cat.labels[state.lang] || cat.id) : ""));
      }
      lastCategory = code.category;
      const key = keys.indexOf(code.id);
      const item = el("li", { role: "option", "data-code": code.id, class: i === 0 ? "active" : "",
                              title: code.definition || "" });
      const swatch = el("span", { class: "swatch" });
      swatch.style.background = state.colors.get(code.id);
      const other = Object.entries(code.labels).filter(([l]) => l !== state.lang).map(([, v]) => v)[0];
      item.append(swatch, el("b", {}, code.id), el("span", {}, " " + label(code)));
      if (other) item.append(el("small", {}, " · " + other));
      if (key >= 0 && !query) item.append(el("kbd", {}, String(key + 1)));
      item.addEventListener("mousedown", (e) => { e.preventDefault(); codeSelection(code.id); });
      list.append(item);
    });
    if (!items.length) list.append(el("li", { class: "empty" }, "No such code. " + state.codebook.rule));
  }

  function movePicker(step) {
    const options = [...$("picker-list").querySelectorAll("li[role=option]")];
    if (!options.length) return;
    state.pickerActive = (state.pickerActive + step + options.length) % options.length;
    options.forEach((o, i) => o.classList.toggle("active", i === state.pickerActive));
    options[state.pickerActive].scrollIntoView({ block: "nearest" });
  }

  function onPickerKey(event) {
    const value = $("picker-input").value.trim();
    if (event.key === "Escape") { event.preventDefault(); closePicker(); return; }
    if (event.key === "ArrowDown") { event.preventDefault(); movePicker(1); return; }
    if (event.key === "ArrowUp") { event.preventDefault(); movePicker(-1); return; }
    if (/^[1-9]$/.test(event.key) && !value) {
      event.preventDefault();
      const id = shortcuts()[Number(event.key) - 1];
      if (id) codeSelection(id);
      return;
    }
    if (event.key === "Enter") {
      event.preventDefault();
      const item = state.pickerItems[state.pickerActive];
      if (!value && !item) return;
      if (!item) {
        say(`Unknown code '${value}'. ${state.codebook.rule}`, "error");
        return;
      }
      codeSelection(item.id);
    }
  }

  // ---------------------------------------------------------------- writing, with undo
  async function codeSelection(code) {
    const span = state.selection || cursorSpan();
    if (!state.doc) return;
    if (!span) { say("Select some text first.", "error"); return; }
    if (!state.codes.has(code) || !state.codes.get(code).codable) {
      say(`Unknown code '${code}'. ${state.codebook.rule}`, "error");
      return;
    }
    $("picker").hidden = true;
    state.selection = null;
    window.getSelection().removeAllRanges();
    try {
      const made = await api("POST", "/api/codings", { document: state.doc.name, start: span.start, end: span.end,
                                                         code, snap: $("snap").value });
      state.codings.push(made);
      record({ kind: "create", after: made });
      countChange(code, 1);
      say(`Coded “${made.text.slice(0, 40)}${made.text.length > 40 ? "…" : ""}” as ${code}.`);
      render();
    } catch (error) { fail(error); }
    // the coder may have opened the picker again while this request was out
    if ($("picker").hidden && !$("editor").contains(document.activeElement)) $("text").focus({ preventScroll: true });
  }

  function countChange(code, delta) {
    const c = state.codes.get(code);
    if (c) c.count += delta;
    drawCodebook();
  }

  function record(action) {
    state.undo.push(action);
    if (state.undo.length > UNDO_LIMIT) state.undo.shift();
    state.redo = [];
    updateUndo();
  }

  function updateUndo() {
    $("undo").disabled = !state.undo.length;
    $("redo").disabled = !state.redo.length;
  }

  const fields = (c) => ({ code: c.code, start: c.start, end: c.end, memo: c.memo });

  async function replay(action, backwards) {
    // create <-> delete; update goes to the other side. Re-created codings get new ids:
    // idMap sends the old id to the new one so older actions still find them.
    const doc = state.doc;
    const kind = backwards ? { create: "delete", delete: "create", update: "update" }[action.kind] : action.kind;
    const target = backwards ? action.before : action.after;
    const source = backwards ? action.after : action.before;
    if (kind === "create") {
      const made = await api("POST", "/api/codings", { document: target.document, ...fields(target) });
      state.idMap.set(target.id, made.id);
      Object.assign(target, made);
      if (doc && made.document === doc.name) state.codings.push(made);
      countChange(made.code, 1);
    } else if (kind === "delete") {
      const id = current(source.id);
      await api("DELETE", "/api/codings/" + id);
      state.codings = state.codings.filter((c) => c.id !== id);
      countChange(source.code, -1);
    } else {
      const id = current(source.id);
      const changed = await api("PATCH", "/api/codings/" + id, fields(target));
      state.codings = state.codings.map((c) => (c.id === id ? changed : c));
      countChange(source.code, -1); countChange(changed.code, 1);
    }
  }

  async function undo(backwards = true) {
    const from = backwards ? state.undo : state.redo, to = backwards ? state.redo : state.undo;
    const action = from.pop();
    if (!action || state.busy) { if (action) from.push(action); return; }
    state.busy = true;
    try {
      await replay(action, backwards);
      to.push(action);
      say(backwards ? "Undone." : "Redone.");
    } catch (error) { from.push(action); fail(error); }
    state.busy = false;
    updateUndo();
    if (state.doc) render();
  }

  // ---------------------------------------------------------------- editing a coding
  function openEditor(ids) {
    const panel = $("editor");
    const list = $("editor-list");
    list.replaceChildren();
    const chosen = state.codings.filter((c) => ids.includes(c.id));
    if (!chosen.length) return;
    for (const c of chosen) {
      const card = el("form", { class: "card", "data-id": String(c.id) });
      const swatch = el("span", { class: "swatch" });
      swatch.style.background = state.colors.get(c.code);
      const head = el("div", { class: "card-head" });
      head.append(swatch, el("b", {}, c.code), el("span", {}, " " + label(state.codes.get(c.code) || { id: c.code, labels: {} })));
      const quote = el("blockquote", {}, c.text.length > 300 ? c.text.slice(0, 300) + "…" : c.text);
      const select = el("select", { name: "code", "aria-label": "code" });
      for (const code of state.codebook.codes.filter((k) => k.codable)) {
        const option = el("option", { value: code.id }, `${code.id} — ${label(code)}`);
        if (code.id === c.code) option.selected = true;
        select.append(option);
      }
      const start = el("input", { name: "start", type: "number", value: String(c.start), "aria-label": "start" });
      const end = el("input", { name: "end", type: "number", value: String(c.end), "aria-label": "end" });
      const memo = el("textarea", { name: "memo", rows: "2", placeholder: "memo", "aria-label": "memo" });
      memo.value = c.memo || "";
      const row = el("div", { class: "span-row" });
      row.append(el("label", {}, "from "), start, el("label", {}, " to "), end);
      // move a boundary by one word without typing offsets
      const nudges = el("div", { class: "nudges" });
      for (const [text, input, step, title] of [["◂", start, -1, "start one word earlier"], ["▸", start, 1, "start one word later"],
                                                 ["◂", end, -1, "end one word earlier"], ["▸", end, 1, "end one word later"]]) {
        const button = el("button", { type: "button", title, "aria-label": title }, text);
        button.addEventListener("click", () => { input.value = String(wordStep(Number(input.value), step)); });
        nudges.append(button);
        if (input === start && step === 1) nudges.append(el("span", { class: "hint" }, " start · end "));
      }
      const save = el("button", { type: "submit" }, "Save");
      const remove = el("button", { type: "button", class: "danger" }, "Delete");
      const buttons = el("div", { class: "buttons" });
      buttons.append(save, remove);
      card.append(head, quote, select, row, nudges, memo, buttons);
      card.addEventListener("submit", (e) => {
        e.preventDefault();
        const startValue = Number(start.value), endValue = Number(end.value);
        if (!Number.isInteger(startValue) || !Number.isInteger(endValue) || startValue >= endValue ||
            startValue < 0 || endValue > state.cps.length) {
          say(`Bad span ${start.value}–${end.value}: offsets are whole numbers with start < end ≤ ${state.cps.length}.`, "error");
          return;
        }
        changeCoding(c.id, { code: select.value, start: startValue, end: endValue, memo: memo.value });
      });
      remove.addEventListener("click", () => deleteCoding(c.id));
      list.append(card);
    }
    panel.hidden = false;
    list.querySelector("select").focus();
  }

  function wordStep(offset, step) {
    // the next (step 1) or previous (step -1) word boundary from offset, in code points
    const isWord = (i) => i >= 0 && i < state.cps.length && /[\p{L}\p{N}_]/u.test(state.cps[i]);
    let i = Math.max(0, Math.min(state.cps.length, offset));
    if (step > 0) {
      while (i < state.cps.length && !isWord(i)) i += 1;
      while (i < state.cps.length && isWord(i)) i += 1;
    } else {
      while (i > 0 && !isWord(i - 1)) i -= 1;
      while (i > 0 && isWord(i - 1)) i -= 1;
    }
    return i;
  }

  async function changeCoding(id, changes) {
    const before = state.codings.find((c) => c.id === id);
    try {
      const after = await api("PATCH", "/api/codings/" + id, changes);
      state.codings = state.codings.map((c) => (c.id === id ? after : c));
      record({ kind: "update", before: { ...before }, after: { ...after } });
      countChange(before.code, -1); countChange(after.code, 1);
      say(`Saved coding ${after.code}.`);
      render();
      openEditor([id]);
    } catch (error) { fail(error); }
  }

  async function deleteCoding(id) {
    const before = state.codings.find((c) => c.id === id);
    try {
      await api("DELETE", "/api/codings/" + id);
      state.codings = state.codings.filter((c) => c.id !== id);
      record({ kind: "delete", before: { ...before }, after: null });
      countChange(before.code, -1);
      say(`Deleted coding ${before.code} (Ctrl+Z to undo).`);
      $("editor").hidden = true;
      render();
    } catch (error) { fail(error); }
  }

  // ---------------------------------------------------------------- keyboard
  function onKey(event) {
    const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement.tagName);
    const mod = event.ctrlKey || event.metaKey;
    if (mod && !typing && (event.key === "z" || event.key === "Z")) {
      event.preventDefault(); undo(!event.shiftKey); return;
    }
    if (mod && !typing && event.key === "y") { event.preventDefault(); undo(false); return; }
    if (typing || mod || event.altKey || !state.doc || !$("picker").hidden) return;
    if (event.key === "j" || event.key === "J" || event.key === "ArrowDown") {
      event.preventDefault(); moveCursor(1, event.shiftKey);
    } else if (event.key === "k" || event.key === "K" || event.key === "ArrowUp") {
      event.preventDefault(); moveCursor(-1, event.shiftKey);
    } else if ((event.key === "Enter" || event.key === "c") && state.cursor >= 0) {
      event.preventDefault();
      const span = cursorSpan();
      const piece = state.pieceByStart.get(span.start);
      const rect = piece ? piece.getBoundingClientRect() : { left: 200, bottom: 200 };
      select(span.start, span.end, rect.left + 40, rect.bottom);
    } else if (/^[1-9]$/.test(event.key) && state.cursor >= 0) {
      event.preventDefault();
      const id = shortcuts()[Number(event.key) - 1];
      if (id) { state.selection = cursorSpan(); codeSelection(id); }
    } else if (event.key === "e" && state.cursor >= 0) {
      const span = cursorSpan();
      const ids = state.codings.filter((c) => c.start < span.end && c.end > span.start).map((c) => c.id);
      if (ids.length) openEditor(ids); else say("No coding here.");
    } else if (event.key === "Escape") {
      state.cursor = -1; drawCursor(); $("editor").hidden = true;
    }
  }

  // ---------------------------------------------------------------- wiring
  // on the document: a drag may end outside the transcript
  document.addEventListener("mouseup", (e) => { if (state.doc && $("picker").hidden) onMouseUp(e); });
  $("text").addEventListener("mouseover", pieceTitle);
  $("picker-input").addEventListener("input", fillPicker);
  $("picker-input").addEventListener("keydown", onPickerKey);
  $("picker-input").addEventListener("blur", () => setTimeout(() => {
    if (!$("picker").contains(document.activeElement)) { $("picker").hidden = true; state.selection = null; }
  }, 150));
  $("code-filter").addEventListener("input", drawCodebook);
  $("undo").addEventListener("click", () => undo(true));
  $("redo").addEventListener("click", () => undo(false));
  $("nav-documents").addEventListener("click", () => { location.hash = ""; });
  $("nav-compare").addEventListener("click", () => { location.hash = "#compare"; });
  $("cmp-show").addEventListener("click", loadDisagreements);
  $("nav-retrieve").addEventListener("click", () => { location.hash = "#retrieve"; });
  $("nav-search").addEventListener("click", () => { location.hash = "#search"; });
  $("ret-form").addEventListener("submit", runRetrieve);
  $("search-form").addEventListener("submit", runSearch);
  $("search-apply").addEventListener("click", codeHits);
  $("cmp-record").addEventListener("click", recordDecisions);
  document.addEventListener("keydown", onKey);
  // attached at once: a name typed while the page is still loading is not lost
  if ($("coder-input")) $("coder-input").addEventListener("change", chooseCoder);
  window.addEventListener("hashchange", () => { $("editor").hidden = true; route(); });
  window.addEventListener("resize", () => { if (state.doc) drawMargin(state.codings.slice().sort((a, b) => a.start - b.start || b.end - a.end)); });
  window.qda = state; // for tests and the curious: the workspace's state, read-only by convention
  // hook for the page's other scripts (codes.js: new codes from the picker)
  window.qdaWorkspace = { api, say, fail, loadCodebook, drawCodebook, codeSelection };
  start().catch(fail);
})();

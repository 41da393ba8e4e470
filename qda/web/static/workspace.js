// qda coding workspace: plain JavaScript, no build step, no network beyond this server.
// Offsets sent to and received from the API are code points (like Python str indices),
// so the text is handled as an array of code points, never as UTF-16 string indices.
// Transcript text is only ever put in the page with textContent (never innerHTML).
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  // colour-blind-safe: Okabe & Ito's seven colours, then Paul Tol's "muted" nine, in an order
  // that puts different hues side by side. Highlights are light tints of these; each coding
  // also draws a full-colour bar under its text, one bar per overlapping code.
  const PALETTE = ["#E69F00", "#56B4E9", "#009E73", "#CC79A7", "#0072B2", "#D55E00", "#F0E442", "#332288",
                   "#44AA99", "#882255", "#999933", "#88CCEE", "#117733", "#CC6677", "#DDCC77", "#AA4499"];
  const UNDO_LIMIT = 50;
  const lead = window.qdaLead || null;  // the lead's view (lead.js): overlay, memo overview, jump to a passage
  const state = {
    session: null, codebook: null, codes: new Map(), colors: new Map(), lang: "fr",
    doc: null, cps: [], codings: [], pieces: [], pieceByStart: new Map(), pieceByEnd: new Map(),
    segments: [], cursor: -1, anchor: -1, selection: null, pickerItems: [], pickerActive: 0,
    undo: [], redo: [], idMap: new Map(), busy: false,
    applied: new Map(),  // code -> coding id made on the selection while the picker is open
    active: null,        // the coding whose edges can be dragged (the editor's current card)
    doubled: new Set(),  // codes drawn with a double bar (see fillCodebook)
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

  const say = window.qdaSay;  // toast.js

  function ask(question, yes) {
    // an in-page confirmation (window.confirm would block the page and cannot be styled)
    const dialog = $("confirm");
    $("confirm-text").textContent = question;
    $("confirm-yes").textContent = yes;
    dialog.showModal();
    $("confirm-yes").focus();
    return new Promise((resolve) => {
      const done = (answer) => () => { dialog.close(); resolve(answer); };
      $("confirm-yes").onclick = done(true);
      $("confirm-no").onclick = done(false);
      dialog.oncancel = done(false);  // Esc
    });
  }

  async function acrossTurns(send) {
    // send(false) first; when the server flags a span that covers a speaker label, ask, then send(true)
    try { return await send(false); } catch (error) {
      if (error.code !== "needs_confirmation" || error.confirm !== "across_turns") throw error;
      if (await ask(error.message, "Code it anyway")) return send(true);
      error.cancelled = true;
      throw error;
    }
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
    try { body = await answer.json(); } catch (e) { body = {}; }
    if (!answer.ok) throw window.qdaApiError(answer, body);  // toast.js: error.code, error.message
    return body;
  }

  function fail(error) {
    if (error.cancelled) { say("Nothing stored: cancelled."); return; }
    const more = error.problems && error.problems.length ? " — " + error.problems.join("; ") : "";
    say(error.message + more, "error");
  }

  // ---------------------------------------------------------------- session and codebook
  // the project's blind mode and the user's role, always on view: what one may see and do
  function showMode() {
    const badge = $("blind"), blind = state.session.blind, role = state.session.role;
    badge.hidden = false;
    badge.textContent = blind ? "blind" : "not blind";
    badge.classList.toggle("open", !blind);
    badge.title = blind ? "Blind mode: each coder sees only their own codings; the lead lifts it (qda blind off)"
      : "Blind mode is off: coders can see each other's codings";
    const shown = $("role");
    if (shown) { shown.hidden = !role; shown.textContent = role || ""; }
    // comparing and adjudicating are the lead's: the tab is not offered to coders and viewers
    if ($("nav-compare")) $("nav-compare").hidden = Boolean(role) && role !== "lead";
  }

  async function start() {
    state.session = await api("GET", "/api/session");
    showMode();
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
    showMode();
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
      // a second cue besides colour: the codes of Tol's part of the palette (and every second
      // round of it) are drawn with a double bar and a broken stripe
      state.doubled = state.doubled || new Set();
      if ((Math.floor(i / PALETTE.length) + (i % PALETTE.length >= 7 ? 1 : 0)) % 2) state.doubled.add(code.id);
      else state.doubled.delete(code.id);
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
        swatch.style.backgroundColor = state.colors.get(code.id);
        if (state.doubled.has(code.id)) swatch.classList.add("doubled");
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
    const hash = location.hash.split("&")[0];  // "#doc=E1&at=120-180": the view, then its options (lead.js)
    const match = hash.match(/^#doc=(.+)$/);
    for (const view of ["compare", "retrieve", "search", "memos"]) if ($(view)) $(view).hidden = hash !== "#" + view;
    if (["#compare", "#retrieve", "#search", "#memos"].includes(hash)) {
      $("docview").hidden = true; $("doclist").hidden = true; $("editor").hidden = true;
      $("doc-title").textContent = "";
      state.doc = null;
    }
    if (hash === "#compare") await window.qdaCompare.show();
    else if (hash === "#retrieve") await showRetrieve();
    else if (hash === "#search") $("search-q").focus();
    else if (hash === "#memos" && lead) await lead.showMemos();
    else if (match) { await openDocument(decodeURIComponent(match[1])); if (lead) lead.opened(); }
    else await showDocuments();
  }

  // ---------------------------------------------------------------- memos on documents and codes
  // "ana, 2025-01-02 03:04 · changed by carl, 2025-02-03 04:05": who wrote a memo or coding and when, and its last change
  function writtenAndChanged(author, created, item) {
    const when = (value) => (value || "").slice(0, 16).replace("T", " ");
    const written = [author, when(created)].filter(Boolean).join(", ");
    const changed = item.modified_by || item.modified_at
      ? `changed by ${[item.modified_by || "?", when(item.modified_at)].filter(Boolean).join(", ")}` : "";
    return [written, changed].filter(Boolean).join(" · ");
  }

  async function memoBox(container, about, target) {
    const box = container.querySelector(".memo-box");
    box.replaceChildren();
    let memos;
    try {
      memos = (await api("GET", `/api/memos?about=${about}&target=${encodeURIComponent(target)}`)).memos;
    } catch (error) { fail(error); return; }
    container.querySelector("summary").dataset.count = String(memos.length);
    for (const m of memos) {
      const item = el("div", { class: "memo" });
      item.append(el("div", { class: "memo-text" }, m.text), el("span", { class: "hint" }, writtenAndChanged(m.author, m.created_at, m)));
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
      const docs = (await api("GET", "/api/documents")).documents;
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
    // the result's to_dict(): qda retrieve's JSON for the same query, plus the page's rows
    try { rows = (await api("GET", "/api/retrieve?" + params)).rows; } catch (error) { fail(error); return; }
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
      const link = el("a", { href: `#doc=${encodeURIComponent(r.document)}&at=${r.start}-${r.end}` }, r.document);
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
    let found;
    try { found = await api("GET", "/api/search?" + params); } catch (error) { fail(error); return; }
    hits = found.hits;
    $("search-summary").textContent = `${hits.length} hit(s)` + (found.truncated ? " (the first ones only)." : ".");
    $("search-code-form").hidden = !hits.length;
    const list = $("search-list");
    list.replaceChildren();
    hits.forEach((h, i) => {
      const row = el("label", { class: "hit" });
      const box = el("input", { type: "checkbox", "data-hit": String(i) });
      const where = el("a", { class: "hint", href: `#doc=${encodeURIComponent(h.document)}&at=${h.start}-${h.end}` },
                       `${h.document} ${h.start}–${h.end} `);
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
    // one request, one write: every ticked hit is coded, or none is (hits already coded with
    // this code are left as they were, not coded twice); a hit over a speaker label is asked once
    let made;
    try {
      made = await acrossTurns((across) => api("POST", "/api/codings/batch", {
        code, snap: $("snap").value, across_turns: across,
        hits: ticked.map((h) => ({ document: h.document, start: h.start, end: h.end })) }));
    } catch (error) { fail(error); return; }
    if (made.coded.length) record({ kind: "batch", before: null, after: made.coded });
    countChange(code, made.coded.length);
    for (const b of document.querySelectorAll("#search-list input:checked")) { b.checked = false; b.disabled = true; }
    const already = made.already.length;
    say(`Coded ${made.coded.length} hit(s) as ${code}.` +
        (already ? ` ${already} already coded with ${code}: left as they were.` : ""));
  }

  async function showDocuments() {
    $("docview").hidden = true; $("doclist").hidden = false; $("editor").hidden = true;
    $("doc-title").textContent = "";
    state.doc = null;
    let docs;
    try { docs = (await api("GET", "/api/documents")).documents; } catch (error) { fail(error); return; }
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
    performance.mark("qda:doc-asked");  // phase marks for bench/overlay_phases.py (cost: microseconds)
    try { doc = await api("GET", "/api/documents/" + encodeURIComponent(name) + (lead ? lead.query() : "")); } catch (error) { fail(error); return; }
    performance.mark("qda:doc-parsed");
    await state.codebookReady;
    state.doc = doc;
    state.cps = Array.from(doc.text);
    $("text").dir = doc.direction || "auto";  // Arabic, Hebrew, Persian: right to left (offsets stay code points)
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
    const lookOf = new Map();  // this drawing's codes (ids of the last three) → their look's class
    for (let i = 0; i + 1 < points.length; i += 1) {
      const a = points[i], b = points[i + 1];
      while (next < codings.length && codings[next].start <= a) active.push(codings[next++]);
      active = active.filter((c) => c.end > a);
      while (turn < roleAt.length && roleAt[turn][1] <= a) turn += 1;
      const span = document.createElement("span");
      span.setAttribute("data-s", String(a));
      span.setAttribute("data-e", String(b));
      span.textContent = slice(a, b);
      // the classes are gathered and set once: classList calls on each of thousands of pieces add up
      let classes = turn < roleAt.length && roleAt[turn][0] <= a ? "role-" + (roleAt[turn][2] || "other") : "";
      span.codings = active.map((c) => c.id);
      // the lead's overlay draws one underline per coder instead of the workspace's overlap one
      const overlaid = state.overlay ? state.overlay.paint(span, active) : "";
      if (active.length) {
        const key = active.slice(-3).map((c) => c.code).join("\n");
        let look = lookOf.get(key);
        if (!look) { look = pieceLook(active); lookOf.set(key, look); }
        classes += " coded " + look + (active.length > 1 && !overlaid ? " overlap" : "");
      }
      if (overlaid) classes += " " + overlaid;
      if (classes) span.className = classes.trim();
      state.pieces.push(span);
      state.pieceByStart.set(a, span);
      state.pieceByEnd.set(b, span);
      fragment.append(span);
    }
    addLooks();
    performance.mark("qda:pieces-built");
    box.replaceChildren(fragment);
    drawCursor();
    performance.mark("qda:text-attached");
    drawMargin(codings);
    performance.mark("qda:margin-drawn");
    state.drawnAt = performance.now();  // read by bench/serve.py: navigation to highlights drawn
    requestAnimationFrame(() => setTimeout(() => performance.mark("qda:painted")));  // the frame after: laid out and painted
  }

  // A piece's highlight and code bars come from a class made once per combination of codes'
  // looks, not from an inline style per piece: thousands of pieces then share their computed
  // style (an inline style is parsed for each piece and makes each one's style computed alone).
  const looks = new Map();
  const lookRules = [];
  let lookSheet = null, looksAdded = 0;
  function pieceLook(active) {
    const shown = active.slice(-3).reverse();
    const key = shown.map((c) => (state.doubled.has(c.code) ? "=" : "") + (state.colors.get(c.code) || "")).join(" ") +
      "|" + tint(state.colors.get(active[active.length - 1].code));
    let name = looks.get(key);
    if (name) return name;
    const under = tint(state.colors.get(active[active.length - 1].code));
    // one full-colour bar per code under the text (up to three): overlapping codes stay
    // told apart even when their tints look alike
    const bars = shown.map((c, k) => {
      const colour = state.colors.get(c.code) || "#777", low = 3 * k;
      return state.doubled.has(c.code)  // two thin lines with a gap of the highlight's colour
        ? `inset 0 -${low + 1}px 0 ${colour}, inset 0 -${low + 2}px 0 ${under}, inset 0 -${low + 3}px 0 ${colour}`
        : `inset 0 -${low + 3}px 0 ${colour}`;
    }).join(", ");
    name = `look-${looks.size + 1}`;
    // #text and a class: above .transcript's own rules (.cursor's bar), as the inline style was
    lookRules.push(`#text .${name} { background-color: ${under}; box-shadow: ${bars}; }`);
    looks.set(key, name);
    return name;
  }

  function addLooks() {
    // the looks made by a drawing, into the page at once: each rule added is a change of the
    // page's style sheets that the browser takes in as a whole
    if (lookRules.length === looksAdded) return;
    if (!lookSheet) {
      // a sheet of its own (not the long workspace.css, which the browser would index again)
      try {
        lookSheet = new CSSStyleSheet();
        document.adoptedStyleSheets = [...document.adoptedStyleSheets, lookSheet];
      } catch (error) {
        lookSheet = [...document.styleSheets].find((sheet) => (sheet.href || "").endsWith("/static/workspace.css"));
      }
    }
    if (!lookSheet.href) {  // a constructed sheet: all its rules in one go
      lookSheet.replaceSync(lookRules.join("\n"));
      looksAdded = lookRules.length;
      return;
    }
    for (const rule of lookRules.slice(looksAdded)) lookSheet.insertRule(rule, lookSheet.cssRules.length);
    looksAdded = lookRules.length;
  }

  function tint(hex) {
    // a light version of a code colour as the highlight, so text stays readable
    const v = parseInt((hex || "#cccccc").slice(1), 16);
    const mix = (x) => Math.round(x + (255 - x) * 0.62);
    return `rgb(${mix(v >> 16)}, ${mix((v >> 8) & 255)}, ${mix(v & 255)})`;
  }

  function drawMargin(codings) {
    if (state.overlay) {
      // what the resize observer below compares with: placed again when the text reflows, and
      // not a second time for the size just drawn (the overlay's margin is wider than one coder's).
      // Read before the stripes are attached: after, the read would lay out 6,000 stripes at once.
      state.sorted = codings;
      state.laidFor = `${$("text").clientWidth}x${$("text").clientHeight}`;
      state.overlay.margin(codings);
      return;
    }
    const margin = $("margin");
    const origin = $("text").getBoundingClientRect().top;
    // lanes by drawn extent, not by offsets: two codings that share a line of text (one ends,
    // the next starts on it) get separate lanes, so no stripe hides or seems to extend another
    const lanes = [];
    const placed = [];
    for (const c of codings) {
      const first = state.pieceByStart.get(c.start), last = state.pieceByEnd.get(c.end);
      if (!first || !last) continue;
      const top = first.getBoundingClientRect().top - origin;
      const bottom = Math.max(last.getBoundingClientRect().bottom - origin, top + 8);
      let lane = lanes.findIndex((end) => end + 2 <= top);
      if (lane < 0) { lane = lanes.length; lanes.push(0); }
      lanes[lane] = bottom;
      placed.push([c, lane, top, bottom]);
    }
    const width = 16;
    state.sorted = codings;
    state.laidFor = `${$("text").clientWidth}x${$("text").clientHeight}`;
    margin.style.width = `${Math.max(1, lanes.length) * width + 26}px`;
    const fragment = document.createDocumentFragment();
    for (const [c, lane, top, bottom] of placed) {
      const stripe = el("div", { class: "stripe", "data-id": String(c.id), role: "button",
                                 title: `${c.code} · ${c.text.slice(0, 80)}${c.memo ? "\nmemo: " + c.memo : ""}` });
      stripe.style.cssText = `top:${top}px;height:${bottom - top}px;right:${lane * width + 4}px;` +
        (state.doubled.has(c.code)
          ? `background:repeating-linear-gradient(${state.colors.get(c.code)} 0 5px, #fff 5px 7px)`
          : `background:${state.colors.get(c.code) || "#999"}`);
      stripe.append(el("span", { class: "stripe-label" }, c.code.slice(0, 3)));
      stripe.addEventListener("click", () => openEditor([c.id]));
      fragment.append(stripe);
    }
    margin.replaceChildren(fragment);
    drawHandles();
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
    const box = range.getBoundingClientRect();
    state.selectionTop = box.top;
    select(Math.min(a, b), Math.max(a, b), event.clientX, Math.max(event.clientY, box.bottom));
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
    state.applied = new Map();
    $("picker-where").textContent = `characters ${start}–${end} (${cpLength(text.trim())} selected):`;
    $("picker-span").textContent = text.length > 600 ? text.slice(0, 600) + "…" : text;
    // the selection stays visible while focus is in the picker (the browser's own selection
    // would fade or vanish): a CSS highlight over the same characters
    window.getSelection().removeAllRanges();
    mark("qda-pending", start, end);
    picker.hidden = false;
    $("picker-input").value = "";
    fillPicker();
    const width = Math.min(380, window.innerWidth - 16);
    // the bottom 64 px stay free for the toast, which says what each code did
    const room = window.innerHeight - 64;
    const height = picker.offsetHeight;
    const left = Math.min(Math.max(8, (x || 200) - 20), window.innerWidth - width - 8);
    // below the selection when it fits, else above it: never over the selected text
    let top = (y || 200) + 12;
    if (top + height > room) top = Math.max(8, (state.selectionTop || y || 200) - height - 12);
    picker.style.left = `${left}px`;
    picker.style.top = `${Math.max(8, Math.min(top, room - height))}px`;
    $("picker-input").focus();
  }

  function closePicker(focusText = true) {
    if ($("picker").hidden) return;
    $("picker").hidden = true;
    state.selection = null;
    mark("qda-pending");
    const made = [...state.applied.keys()];
    if (made.length > 1) say(`Coded the selection with ${made.join(", ")}.`);
    state.applied = new Map();
    if (focusText) $("text").focus({ preventScroll: true });
  }

  function mark(name, start, end) {
    // a CSS custom highlight over start-end (none when start is undefined); no DOM change
    if (!window.CSS || !CSS.highlights) return;
    if (start === undefined || start >= end) { CSS.highlights.delete(name); return; }
    const range = rangeOf(start, end);
    if (range) CSS.highlights.set(name, new Highlight(range)); else CSS.highlights.delete(name);
  }

  function pieceAt(offset) {
    // the drawn piece holding code point offset (pieces are in text order)
    const pieces = state.pieces;
    let lo = 0, hi = pieces.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (Number(pieces[mid].dataset.s) <= offset) lo = mid; else hi = mid - 1;
    }
    return pieces[lo];
  }

  function domPoint(offset) {
    // [text node, UTF-16 index] of a code point offset
    const piece = pieceAt(Math.min(offset, state.cps.length - 1));
    if (!piece || !piece.firstChild) return null;
    const within = Math.min(offset, Number(piece.dataset.e)) - Number(piece.dataset.s);
    return [piece.firstChild, Array.from(piece.firstChild.textContent).slice(0, within).join("").length];
  }

  function rangeOf(start, end) {
    const a = domPoint(start), b = domPoint(end);
    if (!a || !b) return null;
    const range = document.createRange();
    range.setStart(a[0], a[1]);
    range.setEnd(b[0], b[1]);
    return range;
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
      const done = state.applied.has(code.id);
      const item = el("li", { role: "option", id: "pick-" + i, "data-code": code.id, class: i === 0 ? "active" : "",
                              title: code.definition || "", "aria-selected": String(i === 0) });
      if (done) { item.classList.add("applied"); item.setAttribute("aria-checked", "true"); }
      const swatch = el("span", { class: "swatch" });
      swatch.style.backgroundColor = state.colors.get(code.id);
      if (state.doubled.has(code.id)) swatch.classList.add("doubled");
      const other = Object.entries(code.labels).filter(([l]) => l !== state.lang).map(([, v]) => v)[0];
      item.append(el("span", { class: "tick", "aria-hidden": "true" }, done ? "✓" : ""), swatch, el("b", {}, code.id),
                  el("span", {}, " " + label(code) + (done ? " (applied)" : "")));
      if (other) item.append(el("small", {}, " · " + other));
      if (key >= 0 && !query) item.append(el("kbd", {}, String(key + 1)));
      item.addEventListener("mousedown", (e) => { e.preventDefault(); codeSelection(code.id); });
      list.append(item);
    });
    if (!items.length) list.append(el("li", { class: "empty", role: "option", "aria-disabled": "true" },
                                      "No such code. " + state.codebook.rule));
    $("picker-input").setAttribute("aria-activedescendant", items.length ? "pick-0" : "");
    // hook for creating a code from the picker: a listener fills #picker-extra (e.g. a "new
    // code" entry for what was typed) and calls window.qda.applyCode(id) once the code exists
    document.dispatchEvent(new CustomEvent("qda:picker", { detail: { query: $("picker-input").value.trim(),
                                                                      items, extra: $("picker-extra") } }));
  }

  function movePicker(step) {
    const options = [...$("picker-list").querySelectorAll("li[role=option]")];
    if (!options.length) return;
    state.pickerActive = (state.pickerActive + step + options.length) % options.length;
    options.forEach((o, i) => {
      o.classList.toggle("active", i === state.pickerActive);
      o.setAttribute("aria-selected", String(i === state.pickerActive));
    });
    options[state.pickerActive].scrollIntoView({ block: "nearest" });
    $("picker-input").setAttribute("aria-activedescendant", options[state.pickerActive].id);
  }

  function onPickerKey(event) {
    const value = $("picker-input").value.trim();
    // keys handled here never reach the page's shortcuts: Esc here closes the picker and
    // keeps the segment cursor (it used to clear it too)
    event.stopPropagation();
    if (event.key === "Escape") { event.preventDefault(); closePicker(); return; }
    if ((event.ctrlKey || event.metaKey) && (event.key === "z" || event.key === "Z") && !value) {
      event.preventDefault(); undo(!event.shiftKey); return;
    }
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
    // With the picker open, the picker stays open: each code chosen is applied to the same
    // selection (chosen again, it is taken off). Without it (shortcut on the cursor), one code.
    const open = !$("picker").hidden;
    const span = state.selection || cursorSpan();
    if (!state.doc) return;
    if (!span) { say("Select some text first.", "error"); return; }
    if (!state.codes.has(code) || !state.codes.get(code).codable) {
      say(`Unknown code '${code}'. ${state.codebook.rule}`, "error");
      return;
    }
    if (open && state.applied.has(code)) {
      const id = current(state.applied.get(code));
      state.applied.delete(code);
      if (state.codings.some((c) => c.id === id)) await deleteCoding(id, `Took ${code} off the selection`);
      afterPick(open);
      return;
    }
    if (!open) window.getSelection().removeAllRanges();
    try {
      const made = await acrossTurns((across) => api("POST", "/api/codings", {
        document: state.doc.name, start: span.start, end: span.end, code, snap: $("snap").value,
        ...(across ? { across_turns: true } : {}) }));
      state.codings.push(made);
      record({ kind: "create", after: made });
      countChange(code, 1);
      if (open && !$("picker").hidden) state.applied.set(code, made.id);
      say(`Coded “${made.text.slice(0, 40)}${made.text.length > 40 ? "…" : ""}” as ${code}.` +
          (open ? " Pick another code, or Esc when done." : ""));
      render();
    } catch (error) { fail(error); }
    afterPick(open);
  }

  function afterPick(open) {
    if (open && !$("picker").hidden) {
      // ready for the next code: empty search, ticks redrawn, focus back in the search box
      $("picker-input").value = "";
      fillPicker();
      $("picker-input").focus();
      mark("qda-pending", state.selection.start, state.selection.end);
    } else if ($("picker").hidden && !$("editor").contains(document.activeElement) &&
               !$("confirm").open) {
      $("text").focus({ preventScroll: true });
    }
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
    if (action.kind === "batch") { await replayBatch(action, backwards); return; }
    const kind = backwards ? { create: "delete", delete: "create", update: "update" }[action.kind] : action.kind;
    const target = backwards ? action.before : action.after;
    const source = backwards ? action.after : action.before;
    if (kind === "create") {
      // a span across speakers was confirmed when it was first made: not asked again
      const made = await api("POST", "/api/codings", { document: target.document, ...fields(target), across_turns: true });
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
      const changed = await api("PATCH", "/api/codings/" + id, { ...fields(target), across_turns: true });
      state.codings = state.codings.map((c) => (c.id === id ? changed : c));
      countChange(source.code, -1); countChange(changed.code, 1);
    }
  }

  async function replayBatch(action, backwards) {
    // search hits coded at once are undone at once: one request, one write, all or nothing
    const code = action.after[0].code;
    if (backwards) {
      const ids = action.after.map((c) => current(c.id));
      await api("DELETE", "/api/codings/batch", { ids });
      state.codings = state.codings.filter((c) => !ids.includes(c.id));
      countChange(code, -ids.length);
      return;
    }
    const made = await api("POST", "/api/codings/batch", {
      code, across_turns: true, hits: action.after.map((c) => ({ document: c.document, start: c.start, end: c.end })) });
    made.coded.forEach((c, i) => { state.idMap.set(action.after[i].id, c.id); });
    const doc = state.doc;
    for (const c of made.coded) if (doc && c.document === doc.name) state.codings.push(c);
    countChange(code, made.coded.length);
  }

  function undo(backwards = true) {
    // each press counts: presses made while an undo is still at the server wait their turn
    // (they used to be dropped without a word)
    state.undoChain = (state.undoChain || Promise.resolve()).then(() => undoOne(backwards));
    return state.undoChain;
  }

  async function undoOne(backwards) {
    const from = backwards ? state.undo : state.redo, to = backwards ? state.redo : state.undo;
    const action = from.pop();
    if (!action) { say(backwards ? "Nothing to undo." : "Nothing to redo."); return; }
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
    const chosen = state.codings.filter((c) => ids.includes(c.id) && c.coder === state.session.coder);
    if (!chosen.length) return;
    for (const c of chosen) {
      const card = el("form", { class: "card", "data-id": String(c.id) });
      const swatch = el("span", { class: "swatch" });
      swatch.style.background = state.colors.get(c.code);
      const head = el("div", { class: "card-head" });
      head.append(swatch, el("b", {}, c.code), el("span", {}, " " + label(state.codes.get(c.code) || { id: c.code, labels: {} })));
      // focusable: it scrolls, and a keyboard user must be able to scroll it too
      const quote = el("blockquote", { tabindex: "0", "aria-label": "coded text" },
                       c.text.length > 300 ? c.text.slice(0, 300) + "…" : c.text);
      const select = el("select", { name: "code", "aria-label": "code" });
      for (const code of state.codebook.codes.filter((k) => k.codable)) {
        const option = el("option", { value: code.id }, `${code.id} — ${label(code)}`);
        if (code.id === c.code) option.selected = true;
        select.append(option);
      }
      const start = el("input", { name: "start", type: "number", value: String(c.start), "aria-label": "start" });
      const end = el("input", { name: "end", type: "number", value: String(c.end), "aria-label": "end" });
      // typed or nudged offsets are previewed on the text before Save
      const preview = () => { state.active = c.id; previewSpan(Number(start.value), Number(end.value)); };
      start.addEventListener("input", preview); end.addEventListener("input", preview);
      const memo = el("textarea", { name: "memo", rows: "2", placeholder: "memo", "aria-label": "memo" });
      memo.value = c.memo || "";
      const row = el("div", { class: "span-row" });
      row.append(el("label", {}, "from "), start, el("label", {}, " to "), end);
      // move a boundary by one word without typing offsets
      const nudges = el("div", { class: "nudges" });
      for (const [text, input, step, title] of [["◂", start, -1, "start one word earlier"], ["▸", start, 1, "start one word later"],
                                                 ["◂", end, -1, "end one word earlier"], ["▸", end, 1, "end one word later"]]) {
        const button = el("button", { type: "button", title, "aria-label": title }, text);
        button.addEventListener("click", () => { input.value = String(wordStep(Number(input.value), step)); preview(); });
        nudges.append(button);
        if (input === start && step === 1) nudges.append(el("span", { class: "hint" }, " start · end "));
      }
      const save = el("button", { type: "submit" }, "Save");
      const remove = el("button", { type: "button", class: "danger" }, "Delete");
      const buttons = el("div", { class: "buttons" });
      buttons.append(save, remove);
      // the quotation's name (from another tool) and who coded and last changed it, when
      const meta = [c.name ? `“${c.name}”` : "", writtenAndChanged(c.coder, c.created_at, c)].filter(Boolean).join(" · ");
      card.append(head, el("div", { class: "hint coding-meta" }, meta), quote, select, row, nudges, memo, buttons);
      card.addEventListener("submit", (e) => {
        e.preventDefault();
        const startValue = Number(start.value), endValue = Number(end.value);
        if (!Number.isInteger(startValue) || !Number.isInteger(endValue) || startValue >= endValue ||
            startValue < 0 || endValue > state.cps.length) {
          say(`Bad span ${start.value}–${end.value}: offsets are whole numbers with start < end ≤ ${state.cps.length}.`, "error");
          return;
        }
        // only what was changed is sent: a field the coder did not touch is never rewritten
        const changes = {};
        if (select.value !== c.code) changes.code = select.value;
        if (startValue !== c.start) changes.start = startValue;
        if (endValue !== c.end) changes.end = endValue;
        if (memo.value !== (c.memo || "")) changes.memo = memo.value;
        if (!Object.keys(changes).length) { say("Nothing to save: nothing was changed."); return; }
        changeCoding(c.id, changes);
      });
      remove.addEventListener("click", () => deleteCoding(c.id));
      // the card in use is the coding whose edges are shown for dragging
      card.addEventListener("focusin", () => { if (state.active !== c.id) { state.active = c.id; drawHandles(); } });
      card.addEventListener("pointerenter", () => { if (state.active !== c.id && !state.drag) { state.active = c.id; drawHandles(); } });
      list.append(card);
    }
    panel.hidden = false;
    state.active = chosen[0].id;
    drawHandles();
    // focus goes to the panel's title, not to a field: a key typed next changes nothing
    $("editor-title").focus({ preventScroll: true });
  }

  function closeEditor() {
    if ($("editor").hidden) return;
    const inside = $("editor").contains(document.activeElement);
    $("editor").hidden = true;
    state.active = null;
    mark("qda-preview");
    drawHandles();
    if (inside && state.doc) $("text").focus({ preventScroll: true });
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

  async function changeCoding(id, changes, snap) {
    const before = state.codings.find((c) => c.id === id);
    try {
      const after = await acrossTurns((across) => api("PATCH", "/api/codings/" + id, {
        ...changes, ...(snap ? { snap } : {}), ...(across ? { across_turns: true } : {}) }));
      state.codings = state.codings.map((c) => (c.id === id ? after : c));
      record({ kind: "update", before: { ...before }, after: { ...after } });
      countChange(before.code, -1); countChange(after.code, 1);
      const what = [];
      if (after.code !== before.code) what.push(`code ${before.code} → ${after.code}`);
      if (after.start !== before.start || after.end !== before.end) {
        what.push(`span ${before.start}–${before.end} → ${after.start}–${after.end}`);
      }
      if ((after.memo || "") !== (before.memo || "")) what.push("memo");
      say(`Saved coding ${after.code}${what.length ? ": " + what.join(", ") : ""}.`);
      render();
      openEditor([id]);
    } catch (error) { fail(error); render(); if (!$("editor").hidden) drawHandles(); }
  }

  async function deleteCoding(id, done) {
    const before = state.codings.find((c) => c.id === id);
    try {
      await api("DELETE", "/api/codings/" + id);
      state.codings = state.codings.filter((c) => c.id !== id);
      record({ kind: "delete", before: { ...before }, after: null });
      countChange(before.code, -1);
      say(`${done || "Deleted coding " + before.code} (Ctrl+Z to undo).`);
      if (!done) closeEditor();
      render();
    } catch (error) { fail(error); }
  }

  // ---------------------------------------------------------------- dragging a coding's edges
  function drawHandles() {
    // handles are moved in place, not replaced: a redraw (a reflow, another render) must not
    // detach the element a pointer or the keyboard is holding
    const box = $("handles");
    const coding = state.active !== null && state.codings.find((c) => c.id === state.active);
    if (!coding || $("editor").hidden || !state.doc) { box.replaceChildren(); return; }
    const span = state.drag ? state.drag.span : coding;
    const origin = $("doc-wrap").getBoundingClientRect();
    const current = () => state.codings.find((c) => c.id === Number(box.dataset.coding));
    box.dataset.coding = String(coding.id);
    const kept = [];
    for (const edge of ["start", "end"]) {
      const at = edge === "start" ? span.start : span.end;
      const range = edge === "start" ? rangeOf(at, at + 1) : rangeOf(at - 1, at);
      const rects = range ? range.getClientRects() : [];
      if (!rects.length) continue;
      const r = edge === "start" ? rects[0] : rects[rects.length - 1];
      let handle = box.querySelector(`[data-edge=${edge}]`);
      if (!handle) {
        handle = el("span", { class: `handle handle-${edge}`, role: "slider", tabindex: "0", "data-edge": edge,
                              "aria-valuemin": "0" });
        handle.addEventListener("pointerdown", (e) => { const c = current(); if (c) startDrag(e, c, edge); });
        handle.addEventListener("keydown", (e) => { const c = current(); if (c) keyDrag(e, c, edge); });
        box.append(handle);
      }
      handle.setAttribute("aria-label", `${edge} of coding ${coding.code}: drag, or arrow keys then Enter`);
      handle.setAttribute("aria-valuemax", String(state.cps.length));
      handle.setAttribute("aria-valuenow", String(at));
      handle.style.left = `${(edge === "start" ? r.left : r.right) - origin.left}px`;
      handle.style.top = `${r.top - origin.top}px`;
      handle.style.height = `${r.height}px`;
      kept.push(handle);
    }
    for (const stale of [...box.children]) if (!kept.includes(stale)) stale.remove();
  }

  function snapped(offset, edge, span) {
    // where an edge dropped at offset lands under the Snap option (the server applies the same rule)
    const cps = state.cps, word = (i) => i >= 0 && i < cps.length && /[\p{L}\p{N}_]/u.test(cps[i]);
    const how = $("snap").value;
    let at = Math.max(0, Math.min(cps.length, offset));
    if (how === "word") {
      if (edge === "start") while (at > 0 && word(at - 1) && word(at)) at -= 1;
      else while (at < cps.length && word(at) && word(at - 1)) at += 1;
    } else if (how === "segment") {
      const seg = state.segments.find((s) => s.start <= at && at <= s.end) ||
        state.segments.find((s) => s.start >= at) || state.segments[state.segments.length - 1];
      if (seg) at = edge === "start" ? seg.start : seg.end;
    }
    if (edge === "start") {
      at = Math.min(at, span.end - 1);
      while (at < span.end - 1 && /\s/.test(cps[at])) at += 1;
    } else {
      at = Math.max(at, span.start + 1);
      while (at > span.start + 1 && /\s/.test(cps[at - 1])) at -= 1;
    }
    return at;
  }

  function previewSpan(start, end) {
    if (!Number.isInteger(start) || !Number.isInteger(end) || start >= end || start < 0 || end > state.cps.length) {
      mark("qda-preview"); return;
    }
    mark("qda-preview", start, end);
  }

  function offsetAtPoint(x, y) {
    const hit = document.caretRangeFromPoint ? document.caretRangeFromPoint(x, y) : null;
    if (!hit || !$("text").contains(hit.startContainer)) return null;
    return offsetOf(hit.startContainer, hit.startOffset);
  }

  function moveEdge(coding, edge, offset) {
    const span = state.drag.span;
    span[edge] = snapped(offset, edge, span);  // the other edge of the span stays where it is
    previewSpan(span.start, span.end);
    drawHandles();
  }

  function startDrag(event, coding, edge) {
    if (event.button !== 0) return;
    event.preventDefault();
    // moves and the release are followed on the whole window: the handle itself is drawn
    // again at each move (so it follows the edge), which would lose a capture on it
    state.drag = { id: coding.id, edge, span: { start: coding.start, end: coding.end } };
    $("handles").classList.add("dragging");
    document.body.classList.add("dragging");
    const move = (e) => {
      const at = offsetAtPoint(e.clientX, e.clientY);
      if (at !== null) moveEdge(coding, edge, at);
    };
    const up = () => {
      window.removeEventListener("pointermove", move);
      window.removeEventListener("pointerup", up);
      window.removeEventListener("pointercancel", up);
      finishDrag(coding);
    };
    window.addEventListener("pointermove", move);
    window.addEventListener("pointerup", up);
    window.addEventListener("pointercancel", up);
  }

  function finishDrag(coding) {
    const drag = state.drag;
    state.drag = null;
    $("handles").classList.remove("dragging");
    document.body.classList.remove("dragging");
    mark("qda-preview");
    if (!drag) return;
    if (drag.span.start === coding.start && drag.span.end === coding.end) { drawHandles(); return; }
    // the preview already applied the snap rule; the server checks and stores exactly this span
    changeCoding(coding.id, { start: drag.span.start, end: drag.span.end });
  }

  function keyDrag(event, coding, edge) {
    // the keyboard way to drag: arrows move the edge by a word (Shift: by a character), Enter stores, Esc cancels
    const step = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -1, ArrowDown: 1 }[event.key];
    if (step) {
      event.preventDefault(); event.stopPropagation();
      if (!state.drag) state.drag = { id: coding.id, edge, span: { start: coding.start, end: coding.end } };
      const from = state.drag.span[edge];
      moveEdge(coding, edge, event.shiftKey ? from + step : wordStep(from, step));
    } else if (event.key === "Enter" && state.drag) {
      event.preventDefault(); event.stopPropagation();
      finishDrag(coding);
    } else if (event.key === "Escape" && state.drag) {
      event.preventDefault(); event.stopPropagation();
      state.drag = null; mark("qda-preview"); drawHandles();
    }
  }

  // ---------------------------------------------------------------- keyboard
  function onKey(event) {
    const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement.tagName);
    const mod = event.ctrlKey || event.metaKey;
    if (mod && !typing && (event.key === "z" || event.key === "Z")) {
      event.preventDefault(); undo(!event.shiftKey); return;
    }
    if (mod && !typing && event.key === "y") { event.preventDefault(); undo(false); return; }
    // the letter and Enter shortcuts act on the transcript only: never when focus is on a
    // control (Enter on a button presses that button, arrows on a handle move that edge)
    const control = document.activeElement.matches("button, a, summary, [role=slider], [role=button], dialog *");
    if (typing || control || mod || event.altKey || !state.doc || !$("picker").hidden) return;
    if (event.key === "j" || event.key === "J" || event.key === "ArrowDown") {
      event.preventDefault(); moveCursor(1, event.shiftKey);
    } else if (event.key === "k" || event.key === "K" || event.key === "ArrowUp") {
      event.preventDefault(); moveCursor(-1, event.shiftKey);
    } else if ((event.key === "Enter" || event.key === "c") && state.cursor >= 0) {
      event.preventDefault();
      const span = cursorSpan();
      const piece = state.pieceByStart.get(span.start);
      const rect = piece ? piece.getBoundingClientRect() : { left: 200, top: 180, bottom: 200 };
      const last = state.pieceByEnd.get(span.end);
      state.selectionTop = rect.top;
      select(span.start, span.end, rect.left + 40, last ? last.getBoundingClientRect().bottom : rect.bottom);
    } else if (/^[1-9]$/.test(event.key) && state.cursor >= 0) {
      event.preventDefault();
      const id = shortcuts()[Number(event.key) - 1];
      if (id) { state.selection = cursorSpan(); codeSelection(id); }
    } else if (event.key === "e" && state.cursor >= 0) {
      // handled here and nowhere else: without preventDefault the same key press went on to
      // the editor's code drop-down (focused by opening it) and chose code "e" there
      event.preventDefault();
      const span = cursorSpan();
      const ids = state.codings.filter((c) => c.start < span.end && c.end > span.start).map((c) => c.id);
      if (ids.length) openEditor(ids); else say("No coding here.");
    } else if (event.key === "Escape") {
      // one thing at a time: the editor first, then the cursor
      if (!$("editor").hidden) { closeEditor(); $("text").focus({ preventScroll: true }); return; }
      state.cursor = -1; drawCursor();
    }
  }

  // ---------------------------------------------------------------- wiring
  // on the document: a drag may end outside the transcript
  document.addEventListener("mouseup", (e) => { if (state.doc && $("picker").hidden) onMouseUp(e); });
  $("text").addEventListener("mouseover", pieceTitle);
  $("picker-input").addEventListener("input", fillPicker);
  $("picker-input").addEventListener("keydown", onPickerKey);
  $("picker").addEventListener("focusout", (event) => {
    // focus moved elsewhere: the picker closes (at once when it went to another field, a
    // little later after a click, so that a click on the codebook panel still codes)
    if ($("confirm").open) return;
    const to = event.relatedTarget;
    if (to && !$("picker").contains(to)) { closePicker(false); return; }
    if (!to) setTimeout(() => {
      if (!$("picker").contains(document.activeElement) && !$("confirm").open) closePicker(false);
    }, 150);
  });
  $("picker-done").addEventListener("click", () => closePicker());
  $("editor-close").addEventListener("click", () => { closeEditor(); $("text").focus({ preventScroll: true }); });
  $("editor").addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || state.drag) return;
    event.preventDefault(); event.stopPropagation();
    closeEditor();
    $("text").focus({ preventScroll: true });
  });
  $("toast-close").addEventListener("click", () => say(""));
  $("code-filter").addEventListener("input", drawCodebook);
  $("undo").addEventListener("click", () => undo(true));
  $("redo").addEventListener("click", () => undo(false));
  $("nav-documents").addEventListener("click", () => { location.hash = ""; });
  $("nav-compare").addEventListener("click", () => { location.hash = "#compare"; });
  $("nav-retrieve").addEventListener("click", () => { location.hash = "#retrieve"; });
  $("nav-search").addEventListener("click", () => { location.hash = "#search"; });
  $("ret-form").addEventListener("submit", runRetrieve);
  $("search-form").addEventListener("submit", runSearch);
  $("search-apply").addEventListener("click", codeHits);
  document.addEventListener("keydown", onKey);
  // attached at once: a name typed while the page is still loading is not lost
  if ($("coder-input")) $("coder-input").addEventListener("change", chooseCoder);
  window.addEventListener("hashchange", () => { closeEditor(); route(); });
  // the stripes are placed from the text's layout: whenever the text reflows (editor opened
  // or closed, window resized, fonts loaded) they are placed again, never left pointing at
  // the wrong paragraph
  let relayout = 0;
  new ResizeObserver(() => {
    cancelAnimationFrame(relayout);
    relayout = requestAnimationFrame(() => {
      // not again for the size the stripes were just placed for (a long document's margin is costly)
      if (state.doc && state.sorted && state.laidFor !== `${$("text").clientWidth}x${$("text").clientHeight}`) {
        drawMargin(state.sorted);
      }
    });
  }).observe($("text"));
  window.addEventListener("resize", () => { if (state.doc && state.sorted) drawMargin(state.sorted); });
  // the top bar wraps onto two lines in a narrow window: the sticky panels start below it
  // (set on the panels, its only users: a custom property set on the root is inherited by every
  // element, and changing it there restyles each piece of a long transcript again)
  new ResizeObserver(() => {
    const height = `${$("bar").offsetHeight}px`;
    for (const panel of document.querySelectorAll(".panel")) {
      if (panel.style.getPropertyValue("--bar") !== height) panel.style.setProperty("--bar", height);
    }
  }).observe($("bar"));
  window.qda = state; // for tests and the curious: the workspace's state, read-only by convention
  // what the compare view (compare.js) uses of this page
  window.qdaPage = { state, api, say, fail, el, label, tint };
  state.applyCode = codeSelection; // for a picker extension (see the qda:picker event)
  if (lead) lead.attach({ state, api, el, say, fail, render, label, tint, slice, openEditor, openDocument, writtenAndChanged });
  // hook for the page's other scripts (codes.js: new codes from the picker)
  window.qdaWorkspace = { api, say, fail, loadCodebook, drawCodebook, codeSelection };
  start().catch(fail);
})();

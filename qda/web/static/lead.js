// The lead's view of the qda workspace: several coders overlaid on a document (one margin
// lane group and one colour per coder), the memo overview, the coded-document download, and
// opening a document at a passage (#doc=E1&at=120-180). Loaded before workspace.js, which
// calls attach() with its helpers and asks query()/opened()/showMemos() at the right moments.
// Transcript and memo text is only ever put in the page with textContent.
"use strict";
window.qdaLead = (() => {
  // Okabe & Ito's colour-blind-safe set: coders are told apart by these, codes by their own colours
  const CODER_COLORS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"];
  const $ = (id) => document.getElementById(id);
  const LANE = 12, GAP = 10;  // px: a lane, and the space between two coders' lane groups
  let ws = null;       // the workspace's state and helpers
  let chosen = null;   // the coders ticked in the chooser (null: only oneself)
  let docsLoaded = false;

  let ruleCount = 0;
  const sheet = () => [...document.styleSheets].find((s) => (s.href || "").endsWith("/static/lead.css"));
  const names = (value) => [...new Set((value || "").split(/[,;]/).map((s) => s.trim()).filter(Boolean))];
  const hashParams = () => new URLSearchParams(location.hash.slice(1));
  const me = () => ws.state.session.coder;

  // ---------------------------------------------------------------- which coders a document shows
  function shown() {
    const asked = hashParams().get("coders");
    if (asked !== null) return names(asked).length ? names(asked) : [me()];
    if (ws.state.session.blind || !chosen || !chosen.length) return [me()];
    return chosen;
  }

  function query() {
    // called by openDocument just before it fetches: the overlay must be set before it draws
    const list = shown();
    const alone = list.length === 1 && list[0] === me();
    ws.state.overlay = alone ? null : overlay(list);
    if (alone) { $("margin").style.height = ""; $("margin").style.contain = ""; }  // the workspace's own margin
    return alone ? "" : "?coders=" + encodeURIComponent(list.join(","));
  }

  function overlay(list) {
    const colors = new Map(list.map((name, i) => [name, CODER_COLORS[i % CODER_COLORS.length]]));
    const index = new Map(list.map((name, i) => [name, i]));
    const looks = new Map();  // per set of coders (a bit mask): a class drawing their underlines, made once
    const look = (mask) => {
      let found = looks.get(mask);
      if (!found) {
        // underlines as background images set by a class: box-shadow (or an inline style per
        // piece) makes the browser lay out each of thousands of pieces at greater cost
        const names = list.filter((_, i) => mask & (1 << i));
        found = `coders-${++ruleCount}`;
        sheet().insertRule(`#text .${found} { background-image: ${names.map((n) => `linear-gradient(${colors.get(n)}, ${colors.get(n)})`).join(", ")}; ` +
          `background-size: 100% 2px; background-repeat: no-repeat; ` +
          // the underlines sit in padding below the letters; the workspace's per-code bars
          // (inset shadows at the same edge) would cross them, so in an overlay the coders'
          // lines replace them (padding below an inline piece does not move the text)
          `padding-bottom: ${2 * names.length + 1}px; box-shadow: none !important; ` +
          `background-position: ${names.map((_, i) => `0 calc(100% - ${2 * i}px)`).join(", ")}; }`, sheet().cssRules.length);
        looks.set(mask, found);
      }
      return found;
    };
    let laid = null;
    return {
      coders: list, colors,
      paint(span, active) {
        if (!laid || laid.codings !== ws.state.codings) {
          // first piece of a drawing: size the margin now, while the text is not in the page
          laid = { codings: ws.state.codings, ...lanes(list, ws.state.codings.slice().sort((a, b) => a.start - b.start || b.end - a.end)) };
          if ($("margin").style.width !== laid.width) $("margin").style.width = laid.width;
        }
        // the workspace opens the editor on span.codings: only one's own codings are editable
        const own = [];
        let mask = 0;
        for (const c of active) {
          if (c.coder === ws.state.session.coder) own.push(c.id);
          mask |= 1 << (index.get(c.coder) % 30);
        }
        span.codings = own;
        if (!mask) return "";
        span.overlay = active.slice();  // the workspace goes on pushing onto "active"
        span.mask = mask;
        return look(mask);  // the class of the coders' underlines: the workspace sets it with its own
      },
      margin(codings) { drawLanes(list, colors, codings, laid && laid.codings === ws.state.codings ? laid : null); },
    };
  }

  function lanes(list, codings) {
    // one group of lanes per coder, nearest the text first; a coder's overlapping codings
    // take more lanes of that group
    const groups = new Map(list.map((name) => [name, { lanes: [], placed: [] }]));
    for (const c of codings) {
      const group = groups.get(c.coder);
      if (!group) continue;
      let lane = group.lanes.findIndex((end) => end <= c.start);
      if (lane < 0) { lane = group.lanes.length; group.lanes.push(0); }
      group.lanes[lane] = c.end;
      group.placed.push([c, lane]);
    }
    const offsets = new Map();
    let offset = 4;
    for (const name of list) {
      offsets.set(name, offset);
      offset += Math.max(1, groups.get(name).lanes.length) * LANE + GAP;
    }
    return { groups, offsets, width: `${offset + 16}px` };
  }

  function drawLanes(list, colors, codings, laid) {
    // Every position is read before anything is attached, and the margin's width (which
    // moves the text) was set before the text was drawn: the text is laid out once.
    const st = ws.state;
    const { groups, offsets, width } = laid || lanes(list, codings);
    const margin = $("margin");
    if (margin.style.width !== width) margin.style.width = width;
    const origin = $("text").offsetTop;  // #text and the margin share #doc-wrap as offset parent
    // a margin of fixed size is a layout boundary: attaching thousands of stripes lays out
    // the margin alone, not the flex row and its long neighbour again
    margin.style.height = `${$("text").offsetHeight}px`;
    margin.style.contain = "size layout style";  // not paint: the coder names above the lanes stay visible
    performance.mark("qda:text-laid-out");
    const fragment = document.createDocumentFragment();
    const proto = ws.el("div", { class: "stripe lane-stripe", role: "button" });
    for (const name of list) {
      const head = ws.el("div", { class: "lane-head", title: `lanes of ${name}` }, name.slice(0, 3));
      head.style.cssText = `right:${offsets.get(name)}px;color:${colors.get(name)}`;
      fragment.append(head);
      for (const [c, lane] of groups.get(name).placed) {
        const first = st.pieceByStart.get(c.start), last = st.pieceByEnd.get(c.end);
        if (!first || !last) continue;
        // offsetTop/offsetHeight: cheaper than getBoundingClientRect, same box (the pieces are inline)
        const top = first.offsetTop - origin;
        const bottom = last.offsetTop + last.offsetHeight - origin;
        const stripe = proto.cloneNode(false);
        stripe.dataset.id = c.id;
        stripe.dataset.coder = name;
        stripe.style.cssText = `top:${top}px;height:${Math.max(bottom - top, 8)}px;` +
          `right:${offsets.get(name) + lane * LANE}px;background:${colors.get(name)}`;
        fragment.append(stripe);
      }
    }
    performance.mark("qda:stripes-placed");
    margin.replaceChildren(fragment);
    if (st.jump) mark(st.jump.start, st.jump.end, false);  // the drawing replaced the marked pieces
  }

  const codeLabel = (id) => ws.label(ws.state.codes.get(id) || { id, labels: {} });

  function onStripe(event) {
    const stripe = event.target.closest(".stripe");
    if (!stripe || !ws.state.overlay) return;
    const c = ws.state.codings.find((k) => k.id === Number(stripe.dataset.id));
    if (!c) return;
    if (c.coder === me()) ws.openEditor([c.id]);
    else ws.say(`${c.coder}'s coding ${c.code} (${codeLabel(c.code)}): shown, not editable.`);
  }

  function onStripeHover(event) {
    const stripe = event.target.closest && event.target.closest(".lane-stripe");
    if (!stripe || stripe.title) return;
    const c = ws.state.codings.find((k) => k.id === Number(stripe.dataset.id));
    if (c) stripe.title = `${c.coder} · ${c.code} ${codeLabel(c.code)}\n${c.text.slice(0, 80)}` + (c.memo ? `\nmemo: ${c.memo}` : "");
  }

  function onHover(event) {
    // hover text of an overlaid highlight: every coder's codes, made when first hovered
    const piece = event.target.closest && event.target.closest("span[data-s]");
    if (!piece || !ws.state.overlay || !piece.overlay || !piece.overlay.length || piece.title) return;
    piece.title = piece.overlay.map((c) => `${c.coder}: ${c.code} ${codeLabel(c.code)}`).join("\n");
  }

  // ---------------------------------------------------------------- the bar above the transcript
  function drawBar() {
    const st = ws.state, doc = st.doc;
    let bar = $("lead-bar");
    if (!bar) {
      bar = ws.el("div", { id: "lead-bar" });
      $("doc-wrap").before(bar);
    }
    bar.replaceChildren();
    const list = st.overlay ? st.overlay.coders : [me()];
    if (!st.session.blind) {
      const box = ws.el("fieldset", { class: "coder-chooser" });
      box.append(ws.el("legend", {}, "Show coders"));
      for (const name of [...new Set([me(), ...st.session.coders])]) {
        const item = ws.el("label", { class: "coder-key" });
        const tick = ws.el("input", { type: "checkbox", value: name, "data-coder": name });
        tick.checked = list.includes(name);
        tick.addEventListener("change", () => {
          const ticked = [...box.querySelectorAll("input:checked")].map((b) => b.value);
          chosen = ticked.length ? ticked : [me()];
          location.hash = `#doc=${encodeURIComponent(doc.name)}&coders=${encodeURIComponent(chosen.join(","))}`;
        });
        item.append(tick, document.createTextNode(name === me() ? `${name} (you)` : name));
        box.append(item);
      }
      bar.append(box);
    }
    if (st.overlay) {
      const legend = ws.el("span", { class: "coder-legend", "aria-label": "coder colours" });
      for (const name of list) {
        const key = ws.el("span", { class: "coder-key", "data-coder": name });
        const swatch = ws.el("span", { class: "coder-swatch" });
        swatch.style.background = st.overlay.colors.get(name);
        key.append(swatch, document.createTextNode(name));
        legend.append(key);
      }
      legend.append(ws.el("span", { class: "hint" }, "an underline colour and a group of margin lanes per coder (from the text outwards in this order); only your own codings open in the editor"));
      bar.append(legend);
    }
    const coders = encodeURIComponent(list.join(","));
    const base = `/api/documents/${encodeURIComponent(doc.name)}/export?coders=${coders}&format=`;
    const exports = ws.el("span", { class: "exports" }, "Export coded document: ");
    exports.append(ws.el("a", { href: base + "html", download: "", id: "export-html" }, "HTML"),
                   document.createTextNode(" · "),
                   ws.el("a", { href: base + "docx", download: "", id: "export-docx" }, "DOCX"));
    bar.append(exports);
  }

  // ---------------------------------------------------------------- opening at a passage
  function pieceAt(offset, isEnd) {
    // the drawn piece holding offset (binary search: pieces are in text order)
    const pieces = ws.state.pieces;
    let lo = 0, hi = pieces.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (Number(pieces[mid].dataset.s) < offset + (isEnd ? 0 : 1)) lo = mid; else hi = mid - 1;
    }
    return pieces[lo];
  }

  function point(offset, isEnd) {
    const piece = pieceAt(offset, isEnd);
    const inside = Array.from(piece.textContent).slice(0, offset - Number(piece.dataset.s)).join("").length;
    return [piece.firstChild || piece, inside, piece];
  }

  function mark(start, end, scroll) {
    const st = ws.state;
    if (!st.pieces.length) return;
    const n = st.cps.length;
    start = Math.max(0, Math.min(n, start)); end = Math.max(start, Math.min(n, end));
    st.jump = { start, end, text: ws.slice(start, end) };
    const [startNode, startAt, first] = point(start, false);
    const [endNode, endAt] = point(end, true);
    const range = document.createRange();
    range.setStart(startNode, startAt);
    range.setEnd(endNode, endAt);
    if (window.CSS && CSS.highlights && window.Highlight) CSS.highlights.set("qda-jump", new Highlight(range));
    for (const p of document.querySelectorAll("#text .jumped")) p.classList.remove("jumped");
    for (let i = st.pieces.indexOf(first); i >= 0 && i < st.pieces.length && Number(st.pieces[i].dataset.s) < end; i += 1) {
      st.pieces[i].classList.add("jumped");
    }
    if (scroll) first.scrollIntoView({ block: "center" });
  }

  function opened() {
    // after openDocument drew the text: the chooser, the legend, and the passage asked for
    const st = ws.state;
    if (!st.doc) return;
    drawBar();
    const at = (hashParams().get("at") || "").match(/^(\d+)-(\d+)$/);
    st.jump = null;
    if (window.CSS && CSS.highlights) CSS.highlights.delete("qda-jump");
    if (at) {
      mark(Number(at[1]), Number(at[2]), true);
      ws.say(`Passage ${at[1]}–${at[2]} of ${st.doc.name}.`);
    }
  }

  // ---------------------------------------------------------------- memo overview
  const KINDS = { document: "document", code: "code", case: "case", coding: "coding", project: "project" };

  async function showMemos() {
    const st = ws.state;
    $("docview").hidden = true; $("doclist").hidden = true; $("editor").hidden = true;
    const authors = $("memo-author");
    if (authors.options.length <= 1) {
      const others = st.session.blind ? [] : st.session.coders.filter((c) => c !== me());
      for (const name of [me(), ...others]) authors.append(ws.el("option", { value: name }, name));
    }
    if (!docsLoaded) {
      try {
        for (const d of (await ws.api("GET", "/api/documents")).documents) $("memo-doc").append(ws.el("option", { value: d.name }, d.name));
        docsLoaded = true;
      } catch (error) { ws.fail(error); }
    }
    await loadMemos();
  }

  function placeOf(m) {
    const enc = encodeURIComponent;
    if (m.kind === "coding") {
      const others = m.author !== me() && !ws.state.session.blind ? `&coders=${enc(m.author)}` : "";
      return [`#doc=${enc(m.document)}&at=${m.start}-${m.end}${others}`, `${m.document} ${m.start}–${m.end}`];
    }
    if (m.kind === "document" || (m.kind === "case" && m.document)) return [`#doc=${enc(m.document)}`, m.document];
    if (m.kind === "code") return ["#retrieve", `retrieve code ${m.code}`];
    return [null, ""];
  }

  async function loadMemos() {
    const params = new URLSearchParams({ author: $("memo-author").value, kind: $("memo-kind").value,
                                         document: $("memo-doc").value });
    let data;
    try { data = await ws.api("GET", "/api/memo-overview?" + params); } catch (error) { ws.fail(error); return; }
    $("memo-summary").textContent = `${data.memos.length} memo(s)` +
      (data.blind ? " — blind mode: only your own memos are shown." : ".");
    const list = $("memo-list");
    list.replaceChildren();
    for (const m of data.memos) {
      const card = ws.el("div", { class: "cmp-card memo-card", "data-kind": m.kind });
      const head = ws.el("div", { class: "hint" });
      head.append(ws.el("span", { class: "chip memo-kind" }, KINDS[m.kind] || m.kind),
                  document.createTextNode(` ${m.target}${m.name ? ` “${m.name}”` : ""} · ` +
                                          `${ws.writtenAndChanged(m.author || "?", m.created_at, m)} `));
      const [href, text] = placeOf(m);
      if (href) {
        const link = ws.el("a", { href, class: "memo-place" }, "open " + text);
        if (m.kind === "code") link.addEventListener("click", (event) => { event.preventDefault(); retrieveCode(m.code); });
        head.append(link);
      }
      card.append(head, ws.el("div", { class: "memo-text" }, m.text));
      if (m.quote) card.append(ws.el("blockquote", {}, m.quote.length > 300 ? m.quote.slice(0, 300) + "…" : m.quote));
      list.append(card);
    }
  }

  async function retrieveCode(code) {
    location.hash = "#retrieve";
    for (let i = 0; i < 50 && !$("ret-coder").options.length; i += 1) await new Promise((r) => setTimeout(r, 40));
    $("ret-codes").value = code;
    $("ret-form").requestSubmit();
  }

  // ---------------------------------------------------------------- wiring
  function attach(helpers) {
    ws = helpers;
    $("margin").addEventListener("click", onStripe);
    $("margin").addEventListener("mouseover", onStripeHover);
    $("text").addEventListener("mouseover", onHover, true);  // before the workspace's own hover text
    for (const id of ["memo-author", "memo-kind", "memo-doc"]) $(id).addEventListener("change", loadMemos);
    $("nav-memos").addEventListener("click", () => { location.hash = "#memos"; });
  }

  return { attach, query, opened, showMemos, mark };
})();

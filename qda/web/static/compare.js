// qda workspace: comparing two coders on spans and recording the lead's decisions.
// The regions come from /api/compare (qda/coding/regions.py): ranges of text where the two
// coders' codings differ, per code, however short. Each is shown in its context (the
// sentences around it) once per coder, with that coder's spans highlighted and labelled.
// Offsets are code points, so texts are cut with Array.from, never with UTF-16 indices.
// Uses the helpers workspace.js exposes as window.qdaPage; text only via textContent.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const page = () => window.qdaPage;
  const decisions = new Map();  // region key -> {region, decision, other, span}; kept across documents
  let listed = [];  // the regions on screen
  let nameEdited = false;

  const codeOf = (id) => page().state.codes.get(id) || { id, labels: {} };
  const colorOf = (id) => page().state.colors.get(id) || "#cccccc";
  const named = (id) => `${id} — ${page().label(codeOf(id))}`;

  function unusedName(coders) {
    // the page never pre-fills the name of a coder who has codings
    if (!coders.includes("consensus")) return "consensus";
    for (let i = 2; ; i += 1) if (!coders.includes(`consensus-${i}`)) return `consensus-${i}`;
  }

  async function show() {
    const { state, api, el, say, fail } = page();
    const coders = state.session.coders;
    for (const [id, pick] of [["cmp-a", 0], ["cmp-b", 1]]) {
      const select = $(id);
      const keep = select.value;
      select.replaceChildren(...coders.map((c) => el("option", { value: c }, c)));
      select.value = keep || coders[pick] || "";
    }
    if (!nameEdited) $("cmp-as").value = unusedName(coders);
    const docSelect = $("cmp-doc");
    if (docSelect.options.length <= 1 && !state.session.blind) {
      try {
        for (const d of (await api("GET", "/api/documents")).documents) docSelect.append(el("option", { value: d.name }, d.name));
      } catch (error) { fail(error); }
    }
    if (state.session.blind) {
      say("Comparing coders is the lead's, once blind mode is lifted: qda blind off (or qda serve --unblind).", "warn");
    }
  }

  function chip(code) {
    const { el, tint } = page();
    const box = el("span", { class: "chip", title: codeOf(code).definition || "" }, named(code));
    box.style.background = tint(colorOf(code));
    return box;
  }

  function contextLine(region, spans) {
    // the context cut at every boundary: each piece carries the codes of this coder covering it
    const { el, tint } = page();
    const cps = Array.from(region.context);
    const base = region.context_start;
    const cuts = new Set([0, cps.length, region.start - base, region.end - base]);
    for (const s of spans) { cuts.add(Math.max(0, s.start - base)); cuts.add(Math.min(cps.length, s.end - base)); }
    const points = [...cuts].filter((x) => x >= 0 && x <= cps.length).sort((x, y) => x - y);
    const line = el("div", { class: "cmp-context" });
    for (let i = 0; i + 1 < points.length; i += 1) {
      const from = points[i], to = points[i + 1];
      if (from === to) continue;
      const codes = spans.filter((s) => s.start - base <= from && s.end - base >= to).map((s) => s.code);
      const inside = from >= region.start - base && to <= region.end - base;
      const piece = el(codes.length ? "mark" : "span", { class: inside ? "in-region" : "ctx" }, cps.slice(from, to).join(""));
      if (codes.length) {
        const colors = codes.map((c) => tint(colorOf(c)));
        piece.style.background = colors.length === 1 ? colors[0] :
          `linear-gradient(to bottom, ${colors.map((c, k) => `${c} ${k * 100 / colors.length}% ${(k + 1) * 100 / colors.length}%`).join(", ")})`;
        piece.title = codes.map(named).join("\n");
        piece.dataset.codes = codes.join(" ");
      }
      line.append(piece);
    }
    return line;
  }

  function legend(region, spans) {
    const { el } = page();
    const box = el("div", { class: "cmp-legend" });
    if (!spans.length) { box.append(el("span", { class: "hint" }, "no code in this region")); return box; }
    const cps = Array.from(region.context);
    for (const s of spans) {
      const item = el("span", { class: "cmp-span" });
      item.append(chip(s.code));
      if (s.start !== region.start || s.end !== region.end) {
        const quote = cps.slice(s.start - region.context_start, s.end - region.context_start).join("");
        item.append(el("q", {}, quote.length > 80 ? quote.slice(0, 80) + "…" : quote));
      }
      box.append(item);
    }
    return box;
  }

  function codesText(spans) {
    const codes = [...new Set(spans.map((s) => s.code))];
    return codes.length ? codes.join(", ") : "no code";
  }

  function choices(region, a, b) {
    const { el } = page();
    const earlier = decisions.get(region.key);
    const box = el("div", { class: "choices", role: "radiogroup", "aria-label": `decision on ${region.key}` });
    const other = el("input", { class: "other", placeholder: "codes, e.g. a; h", "aria-label": "other codes", size: "12" });
    const start = el("input", { type: "number", class: "edge", "aria-label": "start of the span", value: String(region.start) });
    const end = el("input", { type: "number", class: "edge", "aria-label": "end of the span", value: String(region.end) });
    const preview = el("q", { class: "cmp-preview" });
    const extra = el("span", { class: "cmp-other" });
    extra.append(other, el("span", { class: "hint" }, " on "), start, el("span", { class: "hint" }, "–"), end, preview);
    const cps = Array.from(region.context);
    const update = () => {
      const s = Number(start.value), e = Number(end.value);
      const inContext = s >= region.context_start && e <= region.context_start + cps.length && s < e;
      preview.textContent = inContext ? cps.slice(s - region.context_start, e - region.context_start).join("") :
        "(outside the context shown)";
      const chosen = box.querySelector("input[type=radio]:checked");
      if (chosen) remember(chosen.value);
    };
    const remember = (decision) => {
      const edited = decision === "other" && (Number(start.value) !== region.start || Number(end.value) !== region.end);
      decisions.set(region.key, { region: region.key, decision, other: decision === "other" ? other.value : "",
                                  span: edited ? `${start.value}-${end.value}` : "" });
      box.closest(".cmp-card").classList.add("decided");
      countDecided();
    };
    const options = [["A", `A: ${a} (${codesText(region.a_spans)})`], ["B", `B: ${b} (${codesText(region.b_spans)})`],
                     ["both", "both"], ["neither", "neither"], ["other", "other codes"]];
    for (const [value, text] of options) {
      const id = `cmp-${region.key}-${value}`.replace(/[^\w-]/g, "_");
      const radio = el("input", { type: "radio", name: `cmp-${region.key}`, id, value });
      radio.addEventListener("change", () => {
        extra.hidden = value !== "other";
        remember(value);
        if (value === "other") other.focus();
      });
      box.append(radio, el("label", { for: id }, text));
      if (earlier && earlier.decision === value) radio.checked = true;
    }
    if (earlier && earlier.decision === "other") {
      other.value = earlier.other;
      if (earlier.span) [start.value, end.value] = earlier.span.split("-");
    }
    extra.hidden = !(earlier && earlier.decision === "other");
    for (const input of [other, start, end]) input.addEventListener("input", update);
    box.append(extra);
    update();
    return box;
  }

  function countDecided() {
    const done = listed.filter((r) => decisions.has(r.key)).length;
    $("cmp-left").textContent = `${done} of ${listed.length} region(s) shown decided` +
      (decisions.size > done ? ` (and ${decisions.size - done} elsewhere)` : "");
  }

  async function load() {
    const { api, fail } = page();
    const a = $("cmp-a").value, b = $("cmp-b").value;
    let data;
    try {
      data = await api("GET", `/api/compare?a=${encodeURIComponent(a)}&b=${encodeURIComponent(b)}` +
                              `&document=${encodeURIComponent($("cmp-doc").value)}`);
    } catch (error) { fail(error); return; }
    if (decisions.pair !== `${a}|${b}`) { decisions.clear(); decisions.pair = `${a}|${b}`; }
    listed = data.regions;
    const list = $("cmp-list");
    list.replaceChildren();
    $("cmp-summary").textContent = `${data.regions.length} region(s) where ${a} and ${b} differ; ` +
      `${data.agreed} agreed coding(s) carried over` +
      ($("cmp-doc").value ? ` in ${$("cmp-doc").value}; decisions made on other documents are kept.` : ".");
    $("cmp-record-form").hidden = !data.regions.length && !decisions.size && !data.agreed;
    // cards are drawn in batches as the lead scrolls: thousands of regions (a long transcript)
    // would otherwise take seconds to draw before the first one could be decided
    drawn = 0;
    lastDoc = null;
    pair = [a, b];
    drawMore();
    countDecided();
  }

  const BATCH = 100;
  let drawn = 0, lastDoc = null, pair = ["", ""];
  const more = (() => {
    const button = document.createElement("button");
    button.type = "button";
    button.id = "cmp-more";
    button.addEventListener("click", () => drawMore());
    return button;
  })();
  const watcher = new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting)) drawMore();
  }, { rootMargin: "600px" });
  watcher.observe(more);

  function drawMore() {
    const { el } = page();
    const [a, b] = pair;
    const list = $("cmp-list");
    more.remove();
    for (const region of listed.slice(drawn, drawn + BATCH)) {
      if (region.document !== lastDoc) {
        list.append(el("h2", { class: "cmp-doc" }, `${region.document} (case ${region.case})`));
        lastDoc = region.document;
      }
      list.append(drawCard(region, a, b));
    }
    drawn = Math.min(listed.length, drawn + BATCH);
    if (drawn < listed.length) {
      more.textContent = `Show more regions (${listed.length - drawn} not shown yet)`;
      list.append(more);
    }
  }

  function drawCard(region, a, b) {
    const { el } = page();
    const card = el("div", { class: "cmp-card region", "data-region": region.key, "data-codes": region.codes.join(" ") });
    const head = el("div", { class: "cmp-head" });
    head.append(el("span", { class: "hint" }, `characters ${region.start}–${region.end}`));
    for (const code of region.codes) head.append(chip(code));
    if (region.agreed_codes.length) {
      head.append(el("span", { class: "hint" }, ` agreed here: ${region.agreed_codes.join(", ")}`));
    }
    card.append(head);
    for (const [letter, name, spans] of [["A", a, region.a_spans], ["B", b, region.b_spans]]) {
      const side = el("div", { class: `cmp-side side-${letter.toLowerCase()}` });
      side.append(el("b", { class: "who" }, `${letter}: ${name}`), contextLine(region, spans), legend(region, spans));
      card.append(side);
    }
    card.append(choices(region, a, b));
    if (decisions.has(region.key)) card.classList.add("decided");
    return card;
  }

  async function record(replace = false) {
    const { api, say, fail } = page();
    $("cmp-confirm").hidden = true;
    const as = $("cmp-as").value.trim();
    const body = { a: $("cmp-a").value, b: $("cmp-b").value, as, decisions: [...decisions.values()], replace };
    let result;
    try {
      result = await api("POST", "/api/adjudicate", body);
    } catch (error) {
      if (error.code === "would_replace") {
        $("cmp-confirm-text").textContent = `${error.message}. Replace them?`;
        $("cmp-confirm").hidden = false;
        $("cmp-confirm-no").focus();
        return;
      }
      fail(error);
      return;
    }
    say(`Recorded ${result.decided} decision(s) as ${result.coder}; ${result.carried_over} agreed coding(s) carried ` +
        `over (${result.codings} codings in all).` + (result.replaced ? ` Replaced ${result.replaced} codings of ` +
        `'${result.coder}' in ${result.replaced_documents} documents (qda undo brings them back).` : ""));
    page().state.session = await api("GET", "/api/session");
  }

  $("cmp-show").addEventListener("click", load);
  $("cmp-record").addEventListener("click", () => record(false));
  $("cmp-confirm-yes").addEventListener("click", () => record(true));
  $("cmp-confirm-no").addEventListener("click", () => { $("cmp-confirm").hidden = true; $("cmp-record").focus(); });
  $("cmp-as").addEventListener("input", () => { nameEdited = true; });
  window.qdaCompare = { show, load };
})();

// qda workspace: codes born while coding. A "New code…" button in the code picker opens a
// small form (id, label, parent, definition); the code is added to the project's codebook
// and written into its YAML file (POST /api/codes), then applied to the selection at once.
// Loaded after workspace.js, which exposes its helpers as window.qdaWorkspace.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const ws = window.qdaWorkspace;
  const picker = $("picker");
  if (!ws || !picker) return;

  const el = (tag, attrs = {}, text) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  };
  // a label as a code id: lower case, no accents, words joined by '-' (ids are short tokens)
  const slug = (s) => (s || "").normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase().trim()
    .replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 24);

  const open = el("button", { type: "button", id: "new-code", class: "new-code",
                              title: "Add a code to the codebook (and its YAML file), then code the selection with it" },
                  "+ New code…");
  const form = el("form", { id: "new-code-form", class: "new-code-form", hidden: "" });
  const field = (name, text, input) => {
    const row = el("label", { class: "nc-row" }, text);
    input.id = `nc-${name}`;
    row.append(input);
    form.append(row);
    return input;
  };
  const label = field("label", "Label", el("input", { type: "text", autocomplete: "off", required: "" }));
  const ident = field("id", "Id", el("input", { type: "text", autocomplete: "off", required: "",
                                                 pattern: "[^\\s,;\\|]+", title: "a short token: no spaces, ',', ';' or '|'" }));
  const parent = field("parent", "Under", el("select"));
  const definition = field("definition", "Definition", el("textarea", { rows: "2", placeholder: "optional" }));
  const problems = el("p", { id: "nc-problems", class: "nc-problems", role: "alert" });
  const buttons = el("div", { class: "nc-buttons" });
  const create = el("button", { type: "submit", id: "nc-create" }, "Create and code");
  const cancel = el("button", { type: "button", id: "nc-cancel" }, "Cancel");
  buttons.append(create, cancel);
  form.append(problems, buttons);
  $("picker-list").after(open, form);

  let idTouched = false;
  let span = null;  // the selection the picker was opened for, kept while the form is filled
  label.addEventListener("input", () => { if (!idTouched) ident.value = slug(label.value); });
  ident.addEventListener("input", () => { idTouched = true; });

  function fillParents() {
    const book = window.qda.codebook;
    const lang = window.qda.lang;
    const name = (item) => item.labels[lang] || Object.values(item.labels)[0] || item.id;
    parent.replaceChildren(el("option", { value: "" }, "(top level)"));
    for (const cat of book.categories) parent.append(el("option", { value: cat.id }, `▸ ${name(cat)}`));
    for (const code of book.codes) parent.append(el("option", { value: code.id }, `${code.id} — ${name(code)}`));
  }

  function show() {
    span = window.qda.selection;
    fillParents();
    const typed = $("picker-input").value.trim();
    label.value = typed;
    ident.value = slug(typed);
    idTouched = false;
    definition.value = "";
    problems.textContent = "";
    picker.classList.add("creating");
    form.hidden = false;
    open.hidden = true;
    label.focus();
  }

  function hide(refocus = true) {
    picker.classList.remove("creating");
    form.hidden = true;
    open.hidden = false;
    if (refocus && !picker.hidden) $("picker-input").focus();
  }

  async function submit(event) {
    event.preventDefault();
    problems.textContent = "";
    create.disabled = true;
    const colors = new Map(window.qda.colors);  // existing codes keep their colour
    const keys = window.qda.keys;  // and their 1-9 shortcuts
    try {
      const made = await ws.api("POST", "/api/codes", { id: ident.value.trim(), label: label.value.trim(),
                                                         parent: parent.value, definition: definition.value });
      await ws.loadCodebook();
      for (const [id, color] of colors) window.qda.colors.set(id, color);
      window.qda.keys = keys;
      ws.drawCodebook();
      // focus stays inside the picker: hiding the focused form would blur it, and the
      // picker closes on a blur that leaves it (a race a slow machine lost)
      $("picker-input").focus({ preventScroll: true });
      hide(false);
      ws.say(made.message);
      if (span && !window.qda.selection) window.qda.selection = span;
      await ws.codeSelection(made.id);
    } catch (error) {
      // every problem at once, next to the form, and in the page's message line
      problems.textContent = [error.message, ...(error.problems || [])].join("\n");
      ws.fail(error);
    } finally { create.disabled = false; }
  }

  open.addEventListener("mousedown", (e) => e.preventDefault());  // keep the selection and the picker
  open.addEventListener("click", show);
  cancel.addEventListener("click", () => hide());
  form.addEventListener("submit", submit);
  form.addEventListener("keydown", (e) => {
    if (e.key === "Escape") { e.preventDefault(); e.stopPropagation(); hide(); }
  });
  // the picker opens afresh each time: start from the list, not a half-filled form
  new MutationObserver(() => { if (picker.hidden) hide(false); })
    .observe(picker, { attributes: true, attributeFilter: ["hidden"] });
})();

// qda workspace: document sets (qda set add NAME DOC...) as a filter of the document list.
// When the project has sets, a "Set" menu above the list shows only the chosen set's
// documents; the choice is kept for the tab (sessionStorage). The list is redrawn by
// workspace.js whenever it is shown: the filter is applied again to every new drawing.
// Loaded after workspace.js, which exposes its helpers as window.qdaWorkspace.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const ws = window.qdaWorkspace;
  const list = $("doclist");
  const body = $("doc-table") && $("doc-table").tBodies[0];
  if (!ws || !list || !body) return;
  const KEY = "qda.documentSet";
  let sets = null;  // name -> Set of documents, once read
  let loading = false;

  const bar = document.createElement("p");
  bar.id = "set-bar";
  bar.style.margin = "0 0 8px";
  bar.hidden = true;
  const label = document.createElement("label");
  label.className = "opt";
  label.textContent = "Set ";
  const menu = document.createElement("select");
  menu.id = "doc-set";
  menu.title = "Show only the documents of one set (qda set add NAME DOC...)";
  label.append(menu);
  const count = document.createElement("span");
  count.id = "set-count";
  count.className = "hint";
  bar.append(label, " ", count);
  list.querySelector("h1").after(bar);

  function apply() {
    if (!sets) return;
    const chosen = menu.value;
    const members = chosen ? sets.get(chosen) : null;
    let shown = 0, all = 0;
    for (const row of body.querySelectorAll("tr[data-doc]")) {
      all += 1;
      const inside = !members || members.has(row.dataset.doc);
      row.hidden = !inside;
      if (inside) shown += 1;
    }
    count.textContent = members ? `${shown} of ${all} documents` : "";
  }

  async function load() {
    if (sets || loading) return;
    loading = true;
    let answer;
    try { answer = await ws.api("GET", "/api/sets"); } catch (error) { loading = false; return; }  // no coder yet
    sets = new Map(answer.sets.map((s) => [s.name, new Set(s.documents)]));
    loading = false;
    bar.dataset.sets = String(sets.size);  // read: the menu shows (or stays hidden) from now on
    if (!sets.size) return;
    const every = document.createElement("option");
    every.value = "";
    every.textContent = "all documents";
    menu.append(every);
    for (const name of sets.keys()) {
      const option = document.createElement("option");
      option.value = name;
      option.textContent = `${name} (${sets.get(name).size})`;
      menu.append(option);
    }
    const kept = sessionStorage.getItem(KEY);
    if (kept && sets.has(kept)) menu.value = kept;
    bar.hidden = false;
    apply();
  }

  menu.addEventListener("change", () => {
    sessionStorage.setItem(KEY, menu.value);
    apply();
  });
  // read once the list is first drawn: by then a coder is chosen (the API needs one)
  new MutationObserver(() => { if (sets) apply(); else load(); }).observe(body, { childList: true });
})();

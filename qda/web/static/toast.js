"use strict";
// The toast of the workspace and of the review page: one live region, always in the page (a
// region that appears with its text is often not read out), emptied first so that the same
// message twice is announced twice. Errors stay until dismissed or replaced; the rest fades.
window.qdaSay = function say(text, kind = "info") {
  const box = document.getElementById("message");
  const seq = (say.seq = (say.seq || 0) + 1);
  clearTimeout(say.timer);
  box.setAttribute("aria-live", kind === "error" ? "assertive" : "polite");
  box.textContent = "";
  box.className = kind;
  document.getElementById("toast").className = "toast " + kind + (text ? " shown" : "");
  document.getElementById("toast-close").hidden = !text;
  if (!text) return;
  setTimeout(() => { if (say.seq === seq) box.textContent = text; }, 30);
  if (kind !== "error") say.timer = setTimeout(() => { if (say.seq === seq) say(""); }, kind === "warn" ? 9000 : 5000);
};

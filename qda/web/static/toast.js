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

// The API's error answers have one shape, {"error": {"code", "message"}, "problems": [...]}
// (qda/web/context.py). One reader for every page: an Error whose .code the pages decide on
// (never the English words) and whose .message the toast shows.
window.qdaApiError = function apiError(answer, body) {
  const given = body && typeof body.error === "object" && body.error ? body.error : {};
  const error = new Error(given.message || `${answer.status} ${answer.statusText}`);
  error.code = given.code || `http_${answer.status}`;
  error.status = answer.status;
  error.problems = (body && body.problems) || [];
  error.body = body || {};
  error.confirm = body && body.confirm;
  return error;
};

// The task page: keyboard shortcuts, server-side draft autosave, active time and a timer;
// ranking tasks are ordered by pressing the responses' letters, best first.
(function () {
  "use strict";
  const form = document.getElementById("judge");
  if (!form) return;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const status = document.getElementById("draft-status");
  const critique = document.getElementById("critique");
  const activeField = form.querySelector('input[name="active_ms"]');
  const url = "/api/tasks/" + form.dataset.assignment + "/draft";
  const kind = form.dataset.kind;
  const revising = form.dataset.revising === "1";
  const ranking = document.getElementById("ranking");
  const clock = document.getElementById("timer");
  const keys = document.getElementById("keys");

  // Active time: only while the page is visible, starting from what the draft recorded.
  let activeMs = parseInt(form.dataset.activeMs || "0", 10);
  let since = document.visibilityState === "visible" ? performance.now() : null;
  function elapsed() {
    const now = performance.now();
    if (since !== null) { activeMs += now - since; since = now; }
    return Math.round(activeMs);
  }
  document.addEventListener("visibilitychange", function () {
    elapsed();
    since = document.visibilityState === "visible" ? performance.now() : null;
    if (document.visibilityState === "hidden") save(true);
  });

  function showTime() {
    const s = Math.floor(elapsed() / 1000);
    clock.textContent = Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
  }
  if (clock) { showTime(); setInterval(showTime, 1000); }

  function fields() {
    const out = {};
    for (const [key, value] of new FormData(form).entries()) {
      if (key !== "csrf_token" && key !== "active_ms") out[key] = String(value);
    }
    return out;
  }

  let timer = null;
  let dirty = false;
  let submitting = false;
  function save(keepalive) {
    if (!dirty || submitting || revising) return Promise.resolve();
    dirty = false;
    status.textContent = "Saving…";
    return fetch(url, {
      method: "PUT",
      keepalive: !!keepalive,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ fields: fields(), active_ms: elapsed() }),
    }).then(function (r) {
      status.textContent = r.ok ? "Draft saved" : "Draft not saved (" + r.status + ")";
      if (!r.ok) dirty = true;
    }).catch(function () { dirty = true; status.textContent = "Offline: draft not saved"; });
  }
  function changed() {
    dirty = true;
    status.textContent = "Unsaved changes";
    clearTimeout(timer);
    timer = setTimeout(save, 400);
  }
  // The answer bar's fields sit outside the form (form="judge"), so listen on the document.
  function ours(event) { return event.target.form === form; }
  document.addEventListener("input", function (event) { if (ours(event)) changed(); });
  document.addEventListener("change", function (event) { if (ours(event)) changed(); });

  form.addEventListener("submit", function (event) {
    if (submitting) { event.preventDefault(); return; }  // a double press sends one answer
    submitting = true;
    clearTimeout(timer);
    activeField.value = String(elapsed());
  });

  function pick(name, value) {
    const input = document.querySelector(
      'input[form="judge"][name="' + name + '"][value="' + value + '"]');
    if (input) { input.checked = true; changed(); }
  }
  function rank(letter) {
    const labels = Array.from(document.querySelectorAll(".response h3")).map(function (h) {
      return h.textContent.trim().slice(-1);
    });
    const order = ranking.value ? ranking.value.split(",") : [];
    if (labels.indexOf(letter) < 0 || order.indexOf(letter) >= 0) return;
    order.push(letter);
    ranking.value = order.join(",");
    changed();
  }
  document.addEventListener("keydown", function (event) {
    const typing = event.target.closest && event.target.closest("textarea, input[type=text], input:not([type]), select");
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      form.requestSubmit();
      return;
    }
    if (typing) {
      if (event.key === "Escape") event.target.blur();
      return;
    }
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const key = event.key.toLowerCase();
    if (event.key === "?") { keys.open = !keys.open; return; }
    if (kind === "ranking") {
      if (/^[a-h]$/.test(key)) rank(key.toUpperCase());
      else if (key === "backspace") {
        ranking.value = ranking.value.split(",").slice(0, -1).join(",");
        changed();
      } else if (key === "enter") { event.preventDefault(); form.requestSubmit(); }
      return;
    }
    if (key === "a" || key === "arrowleft") pick("choice", "A");
    else if (key === "b" || key === "arrowright") pick("choice", "B");
    else if (key === "t") pick("choice", "tie");
    else if (key === "1" || key === "2" || key === "3") pick("strength", key);
    else if (key === "c") { event.preventDefault(); critique.focus(); }
    else if (key === "enter") { event.preventDefault(); form.requestSubmit(); }
    else return;
  });
})();

/* An RVTools import's page while it runs: poll its status (a small JSON view) twice a second, move the bar and the
 * stage text, and reload the page once it has finished, so that the server renders the summary or the problems. */
(function () {
  "use strict";
  const card = document.getElementById("progress-card");
  if (!card || card.dataset.finished === "1") return;
  const url = card.dataset.statusUrl;
  const bar = document.getElementById("import-bar");
  const stage = document.getElementById("import-stage");
  const percent = document.getElementById("import-percent");
  const badge = document.getElementById("import-status");
  const STATUS = { queued: "Queued", running: "Running", succeeded: "Imported", refused: "Refused", failed: "Failed" };

  async function poll() {
    try {
      const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (response.ok) {
        const s = await response.json();
        const pct = Math.round(100 * (s.progress || 0));
        bar.firstElementChild.style.width = pct + "%";
        bar.setAttribute("aria-valuenow", String(pct));
        percent.textContent = pct + " %";
        stage.textContent = s.stage || STATUS[s.status] || s.status;
        if (badge && STATUS[s.status]) badge.textContent = STATUS[s.status];
        if (s.finished) { window.location.reload(); return; }
      }
    } catch (e) { /* the next poll tries again */ }
    window.setTimeout(poll, 500);
  }
  window.setTimeout(poll, 300);
})();

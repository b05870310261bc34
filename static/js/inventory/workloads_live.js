/* The workloads page, live: when the activity channel announces a workload change (HC.live in app.js dispatches
 * `hc:activity`), refetch this page's own URL (same filters, ordering and page), swap in the table body and the
 * match count, and briefly highlight the rows that were not there before. At most one refetch a second; no reload. */
(function () {
  "use strict";
  const table = document.getElementById("workloads-table");
  if (!table) return;
  const MIN_INTERVAL_MS = 1000;
  let lastFetch = 0;
  let timer = null;
  let inFlight = false;
  let again = false;

  function rowKeys(tbody) {
    return new Set(Array.from(tbody.querySelectorAll("tr[data-id]")).map(function (tr) { return tr.dataset.id; }));
  }

  async function refresh() {
    if (inFlight) { again = true; return; }
    inFlight = true;
    lastFetch = Date.now();
    try {
      const response = await fetch(window.location.href, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } });
      if (!response.ok) return;
      const doc = new DOMParser().parseFromString(await response.text(), "text/html");
      const fresh = doc.querySelector("#workloads-table tbody");
      const current = table.querySelector("tbody");
      if (!fresh || !current) return;
      const before = rowKeys(current);
      current.replaceWith(fresh);
      for (const tr of fresh.querySelectorAll("tr[data-id]")) {
        if (!before.has(tr.dataset.id)) {
          tr.classList.add("row-new");
          tr.style.backgroundColor = "rgba(99, 102, 241, 0.18)";
          setTimeout(function () {
            tr.style.transition = "background-color 1s ease";
            tr.style.backgroundColor = "";
            setTimeout(function () { tr.classList.remove("row-new"); tr.style.transition = ""; }, 1000);
          }, 2500);
        }
      }
      const count = document.getElementById("workload-count");
      const freshCount = doc.getElementById("workload-count");
      if (count && freshCount) count.textContent = freshCount.textContent;
    } catch (err) {
      // A hint missed: the next change (or a reload) brings the table up to date.
    } finally {
      inFlight = false;
      if (again) { again = false; schedule(); }
    }
  }

  function schedule() {
    if (timer !== null) return;
    const wait = Math.max(0, lastFetch + MIN_INTERVAL_MS - Date.now());
    timer = setTimeout(function () { timer = null; refresh(); }, wait);
  }

  document.addEventListener("hc:activity", function (event) {
    if (event.detail && event.detail.type === "workload") schedule();
  });
})();

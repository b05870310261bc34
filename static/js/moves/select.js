/* "Move selected" on the workloads table (operators only): a checkbox per row, a header box for the page, and
 * "all N matching this filter"; the choice opens the bulk move page (/moves/new/) with the ticked ids or the
 * table's filter. The selection survives the live refresh of the table body (workloads_live.js swaps it in). */
(function () {
  "use strict";
  const table = document.getElementById("workloads-table");
  const me = document.currentScript || document.querySelector("script[data-move-selected]");
  if (!table || !me) return;
  const total = parseInt(me.dataset.count || "0", 10);
  const newUrl = me.dataset.url;
  const selected = new Set();
  if (me.dataset.css && !document.querySelector('link[href="' + me.dataset.css + '"]')) {
    const link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = me.dataset.css;
    document.head.appendChild(link);
  }
  let allMatching = false;

  const bar = document.createElement("div");
  bar.className = "card selection-bar";
  bar.id = "selection-bar";
  bar.innerHTML = '<span id="selection-count"></span> ' +
    '<button type="button" class="btn link" id="select-all-matching"></button> ' +
    '<button type="button" class="btn primary" id="move-selected" disabled>Move selected…</button>';
  table.closest(".table-wrap").before(bar);
  const count = bar.querySelector("#selection-count");
  const allButton = bar.querySelector("#select-all-matching");
  const moveButton = bar.querySelector("#move-selected");

  const headRow = table.querySelector("thead tr");
  const th = document.createElement("th");
  th.className = "select";
  th.innerHTML = '<input type="checkbox" id="select-page" aria-label="Select every workload on this page">';
  headRow.prepend(th);
  const pageBox = th.querySelector("input");

  function rows() { return Array.from(table.querySelectorAll("tbody tr[data-id]")); }

  function render() {
    const n = allMatching ? total : selected.size;
    count.textContent = n ? n + " selected" + (allMatching ? " (every workload matching this filter)" : "") : "Tick workloads to move them together.";
    moveButton.disabled = n === 0;
    moveButton.textContent = n ? "Move " + n + " selected…" : "Move selected…";
    const onPage = rows();
    pageBox.checked = onPage.length > 0 && onPage.every(function (tr) { return allMatching || selected.has(tr.dataset.id); });
    allButton.hidden = total <= onPage.length && !allMatching;
    allButton.textContent = allMatching ? "Clear the selection" : "Select all " + total + " matching this filter";
  }

  function decorate() {
    for (const tr of rows()) {
      if (tr.querySelector("td.select")) continue;
      const td = document.createElement("td");
      td.className = "select";
      const box = document.createElement("input");
      box.type = "checkbox";
      box.className = "select-row";
      box.value = tr.dataset.id;
      box.setAttribute("aria-label", "Select " + (tr.querySelector(".wl-name") || {}).textContent);
      box.checked = allMatching || selected.has(tr.dataset.id);
      box.disabled = allMatching;
      box.addEventListener("change", function () {
        if (box.checked) selected.add(box.value); else selected.delete(box.value);
        render();
      });
      td.appendChild(box);
      tr.prepend(td);
    }
    const empty = table.querySelector("tbody td.empty");
    if (empty) empty.colSpan = headRow.children.length;
    render();
  }

  pageBox.addEventListener("change", function () {
    for (const tr of rows()) {
      if (pageBox.checked) selected.add(tr.dataset.id); else selected.delete(tr.dataset.id);
      const box = tr.querySelector("input.select-row");
      if (box) box.checked = pageBox.checked;
    }
    render();
  });
  allButton.addEventListener("click", function () {
    allMatching = !allMatching;
    if (!allMatching) selected.clear();
    for (const box of table.querySelectorAll("input.select-row")) { box.checked = allMatching; box.disabled = allMatching; }
    render();
  });
  moveButton.addEventListener("click", function () {
    const params = new URLSearchParams();
    if (allMatching) {
      const filters = new URLSearchParams(window.location.search);
      filters.delete("page");
      params.set("all", "1");
      params.set("query", filters.toString());
    } else {
      for (const id of selected) params.append("workload", id);
    }
    window.location.href = newUrl + "?" + params.toString();
  });
  new MutationObserver(decorate).observe(table, { childList: true });
  decorate();
})();

/* An evacuation's progress: overall and per workload, re-read from the server every 1.5 s while it runs. */
(function () {
  "use strict";
  const url = document.getElementById("evac-url").dataset.url;
  const tbody = document.querySelector("#evac-items tbody");

  function cell(text, cls) {
    const td = document.createElement("td");
    if (cls) td.className = cls;
    if (text instanceof Node) td.appendChild(text); else td.textContent = text;
    return td;
  }
  function link(text, href) {
    if (!href) return document.createTextNode(text);
    const a = document.createElement("a"); a.href = href; a.textContent = text; return a;
  }
  function render(p) {
    const state = document.getElementById("evac-state");
    state.textContent = p.state_label; state.className = "badge " + p.colour;
    document.getElementById("overall-bar").style.width = p.percent + "%";
    document.getElementById("overall-text").textContent = p.percent.toFixed(0) + " % · " +
      (p.counts.moved || 0) + " of " + p.total + " moved";
    document.getElementById("evac-message").textContent = p.message;
    tbody.replaceChildren();
    p.items.forEach(function (item) {
      const tr = document.createElement("tr");
      tr.dataset.state = item.state;
      tr.appendChild(cell(link(item.workload, item.workload_url)));
      tr.appendChild(cell(item.source));
      tr.appendChild(cell(item.destination ? item.destination + " · " + item.destination_site : "–"));
      const badge = document.createElement("span");
      badge.className = "badge " + item.colour;
      badge.textContent = item.queued ? "Queued (host limit)" : item.state_label;
      tr.appendChild(cell(badge));
      const bar = document.createElement("div"); bar.className = "bar";
      const fill = document.createElement("span"); fill.style.width = item.percent + "%"; bar.appendChild(fill);
      const wrap = document.createElement("div"); wrap.className = "item-progress"; wrap.appendChild(bar);
      const pct = document.createElement("small"); pct.textContent = item.percent.toFixed(0) + " %"; wrap.appendChild(pct);
      tr.appendChild(cell(wrap));
      tr.appendChild(cell(item.predicted_end_s === null ? "–" : "+" + HC.units.formatDuration(item.predicted_end_s), "num"));
      const notes = item.reason || (item.over_window ? "predicted to run over the window" : "") ||
        (item.warnings && item.warnings.length ? item.warnings.join(" ") : "");
      const notesCell = cell(item.migration_url ? link("migration", item.migration_url) : "", "small notes");
      if (notes) notesCell.appendChild(document.createTextNode(" " + notes));
      tr.appendChild(notesCell);
      tbody.appendChild(tr);
    });
  }
  let timer = null;
  async function poll() {
    try {
      const response = await fetch(url, { credentials: "same-origin" });
      if (response.ok) {
        const p = await response.json();
        render(p);
        if (p.state !== "running") return;
      }
    } catch (e) { /* offline for a moment: try again */ }
    timer = setTimeout(poll, 1500);
  }
  const initial = JSON.parse(document.getElementById("evac-data").textContent);
  render(initial);
  if (initial.state === "running") timer = setTimeout(poll, 1000);
})();

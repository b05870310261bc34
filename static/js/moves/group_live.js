/* A move group's page, live: the activity channel (HC.live in app.js dispatches `hc:activity`) announces its
 * migrations' changes; on one that concerns this group (or a new migration while it runs), the group is refetched
 * from the API (at most twice a second) and its progress bar, counts and rows are updated in place. */
(function () {
  "use strict";
  const box = document.getElementById("group-progress");
  const table = document.getElementById("members-table");
  if (!box || !table) return;
  const url = box.dataset.url;
  const groupId = box.dataset.group;
  const COLOURS = { completed: "green", failed: "red", cancelled: "grey", refused: "red", switchover: "amber", precopy: "indigo", prechecks: "indigo", queued: "grey", pending: "grey" };
  let known = new Set(Array.from(table.querySelectorAll("tr[data-migration]")).map(function (tr) { return tr.dataset.migration; }).filter(Boolean));
  let timer = null;
  let running = true;

  function text(el, value) { if (el && el.textContent !== value) el.textContent = value; }

  function apply(group) {
    const p = group.progress;
    running = group.state === "scheduled" || group.state === "running";
    document.getElementById("group-bar").style.width = p.percent + "%";
    text(document.getElementById("group-percent"), Math.round(p.percent) + " %");
    const state = document.getElementById("group-state");
    text(state, group.state.charAt(0).toUpperCase() + group.state.slice(1));
    state.dataset.state = group.state;
    state.className = "badge " + ({ scheduled: "indigo", running: "amber", completed: "green", cancelled: "grey" }[group.state] || "grey");
    text(document.getElementById("group-counts"), Object.entries(p.counts).map(function (e) { return e[1] + " " + e[0]; }).join(" · "));
    document.getElementById("held-note").hidden = !p.held;
    known = new Set();
    for (const row of p.members) {
      const tr = table.querySelector('tr[data-member="' + row.member_id + '"]');
      if (!tr) continue;
      if (row.migration_id) known.add(String(row.migration_id));
      tr.dataset.migration = row.migration_id || "";
      const badge = tr.querySelector(".member-state");
      text(badge, row.state);
      badge.dataset.state = row.state;
      badge.className = "badge member-state " + (COLOURS[row.state] || "grey");
      let held = tr.querySelector(".held");
      if (row.held && !held) { held = document.createElement("span"); held.className = "badge amber held"; held.textContent = "held"; badge.after(" ", held); }
      if (!row.held && held) held.remove();
      text(tr.querySelector(".member-percent"), Math.round(row.percent) + " %");
      text(tr.querySelector(".member-host"), row.destination_host || "–");
      const link = tr.querySelector(".member-link");
      if (row.migration_url && !link.querySelector("a")) { link.innerHTML = ""; const a = document.createElement("a"); a.href = row.migration_url; a.textContent = "#" + row.migration_id; link.appendChild(a); }
      text(tr.querySelector(".member-reason"), row.reason || "");
    }
  }

  async function refresh() {
    timer = null;
    try {
      const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (response.ok) apply(await response.json());
    } catch (e) { /* the next push tries again */ }
  }

  function soon() { if (!timer) timer = setTimeout(refresh, 500); }

  document.addEventListener("hc:activity", function (event) {
    const message = event.detail || {};
    const items = message.items || (message.item ? [message.item] : []);
    for (const item of items) {
      if (message.type === "move_group") { if (String(item.id) === groupId) { soon(); return; } continue; }
      if (message.type !== "migration") continue;
      if (known.has(String(item.id)) || (running && item.active)) { soon(); return; }
    }
  });
  document.addEventListener("hc:activity-snapshot", soon);
  for (const tr of table.querySelectorAll(".member-state")) tr.classList.add(COLOURS[tr.dataset.state] || "grey");
})();

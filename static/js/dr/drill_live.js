/* The live drill page: the steps and workloads as they run, pushed over /ws/drills/<id>/. */
(function () {
  "use strict";
  const initial = JSON.parse(document.getElementById("drill-state-data").textContent);
  const stateColours = { queued: "grey", running: "indigo", completed: "green", failed: "red", cancelled: "amber" };
  const stepColours = { pending: "grey", running: "indigo", done: "green", failed: "red", skipped: "amber" };

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function renderSteps(steps) {
    const list = document.getElementById("steps");
    list.replaceChildren();
    if (!steps.length) { list.appendChild(el("li", "muted", "Waiting for a worker to start the drill…")); return; }
    for (const step of steps) {
      const li = el("li", "step " + step.state);
      li.dataset.state = step.state;
      const head = el("div", "step-head");
      head.appendChild(el("span", "step-name", step.name));
      head.appendChild(el("span", "badge " + (stepColours[step.state] || "grey"), step.state_label));
      const timing = step.state === "pending" ? "" : HC.units.formatDuration(step.sim_duration_s) + " simulated" +
        (step.wall_duration_s !== null ? " · " + HC.units.formatDuration(step.wall_duration_s) + " here" : "");
      head.appendChild(el("span", "muted small step-time", timing));
      li.appendChild(head);
      if (step.reason && step.state !== "pending" && step.state !== "running") li.appendChild(el("div", "step-reason small", step.reason));
      list.appendChild(li);
    }
  }

  function renderResults(results, expected) {
    const body = document.querySelector("#results tbody");
    body.replaceChildren();
    for (const r of results) {
      const tr = el("tr");
      tr.appendChild(el("td", null, r.workload));
      tr.appendChild(el("td", null, r.priority + ". " + r.group));
      const state = el("td"); state.appendChild(el("span", "badge " + (r.state === "recovered" ? "green" : "red"), r.state));
      if (r.reason) state.title = r.reason;
      tr.appendChild(state);
      tr.appendChild(el("td", "num", r.up_at_s === null ? "–" : HC.units.formatDuration(r.up_at_s)));
      const rpo = el("td"); rpo.appendChild(el("span", "badge " + (r.rpo_met ? "green" : "red"), r.rpo_met ? "met" : "violated"));
      tr.appendChild(rpo);
      tr.appendChild(el("td", null, r.recovered_on || "–"));
      body.appendChild(tr);
    }
    document.getElementById("results-empty").hidden = results.length > 0;
    document.getElementById("stat-up").textContent = results.filter(function (r) { return r.state === "recovered"; }).length + " / " + Math.max(results.length, expected || 0);
  }

  function render(message) {
    const d = message.drill;
    const badge = document.getElementById("drill-state");
    badge.textContent = d.state_label;
    badge.className = "badge " + (stateColours[d.state] || "grey");
    document.body.dataset.drillState = d.state;
    document.getElementById("stat-rto").textContent = d.measured_rto_s === null ? "–" : HC.units.formatDuration(d.measured_rto_s);
    document.getElementById("stat-verdict").textContent = d.verdict_label;
    const reason = document.getElementById("drill-reason");
    reason.textContent = d.reason; reason.hidden = !d.reason;
    const finished = ["completed", "failed", "cancelled"].indexOf(d.state) >= 0;
    document.getElementById("report-link").hidden = !finished;
    const cancel = document.getElementById("cancel-form");
    if (cancel && finished) cancel.hidden = true;
    renderSteps(message.steps);
    renderResults(message.results, message.drill.workload_count);
  }

  render(initial);
  HC.live("/ws/drills/" + initial.drill.id + "/", { onSnapshot: render, onMessage: render });
})();

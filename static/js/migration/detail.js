/* The live migration page: a snapshot from the server, then pushes over /ws/migrations/<id>/.
 * Progress never runs backwards: the "data sent" bar only moves forward, whatever arrives. */
(function () {
  "use strict";
  const HC = window.HC;
  const initial = JSON.parse(document.getElementById("migration-snapshot").textContent);
  const id = initial.id;
  const FINAL = ["completed", "failed", "cancelled"];
  const COLOURS = { queued: "grey", prechecks: "indigo", precopy: "indigo", switchover: "amber", completed: "green", failed: "red", cancelled: "grey" };
  const LABELS = { queued: "Queued", prechecks: "Pre-checks", precopy: "Pre-copy", switchover: "Switchover", completed: "Completed", failed: "Failed", cancelled: "Cancelled" };
  let shownPercent = 0;
  let rounds = new Map();
  let current = initial;

  const $ = (sel) => document.getElementById(sel);
  function text(idName, value) { const el = $(idName); if (el) el.textContent = value; }
  function bar(idName, fraction) {
    const el = $(idName);
    if (el) el.firstElementChild.style.width = HC.units.barWidth(fraction);
  }
  function rate(bps) { return bps ? HC.units.formatRate(bps) : "–"; }

  function renderTimeline(timeline) {
    const list = $("timeline");
    list.replaceChildren();
    for (const phase of timeline || []) {
      const li = document.createElement("li");
      li.dataset.status = phase.status;
      li.dataset.phase = phase.name;
      const name = document.createElement("strong");
      name.textContent = phase.label;
      li.appendChild(name);
      const when = document.createElement("span");
      when.className = "muted small";
      when.textContent = phase.at ? HC.units.formatTime(phase.at) : "";
      li.appendChild(when);
      list.appendChild(li);
    }
  }

  function timelineFrom(state, snapshotTimeline) {
    // Pushes carry the state only; advance the snapshot's timeline to it.
    const order = ["queued", "prechecks", "precopy", "switchover", "completed"];
    const timeline = (snapshotTimeline || []).map((p) => Object.assign({}, p));
    const idx = order.indexOf(state);
    if (idx >= 0) {
      for (const p of timeline) {
        const i = order.indexOf(p.name);
        if (i < 0) continue;
        p.status = state === "completed" || i < idx ? "done" : i === idx ? "current" : "todo";
        if (i <= idx && !p.at) p.at = new Date().toISOString();
      }
    } else if (FINAL.includes(state) && !timeline.some((p) => p.name === state)) {
      for (const p of timeline) if (p.status !== "done") p.status = "skipped";
      timeline.push({ name: state, label: LABELS[state], status: "current", at: new Date().toISOString() });
    }
    return timeline;
  }

  function renderChart() {
    const sorted = Array.from(rounds.values()).sort((a, b) => a.index - b.index);
    const el = $("rounds-chart");
    el.dataset.points = String(sorted.length);
    const predicted = (current.prediction && current.prediction.round_bytes) || [];
    // Binary units, as everywhere on the page (HC.units.formatBytes): GiB when a round reaches one, else MiB.
    const largest = Math.max(0, ...sorted.map((r) => r.bytes), ...predicted);
    const unit = largest >= HC.units.GIB ? { name: "GiB", size: HC.units.GIB } : { name: "MiB", size: HC.units.MIB };
    el.dataset.unit = unit.name;
    const trace = {
      type: "bar", x: sorted.map((r) => r.index), y: sorted.map((r) => r.bytes / unit.size),
      marker: { color: sorted.map((r) => (r.throttle > 0 ? "#f59e0b" : "#3f51b5")) },
      hovertemplate: "Round %{x}: %{y:.2f} " + unit.name + "<extra></extra>",
    };
    const traces = [trace];
    if (predicted.length) {
      traces.push({ type: "scatter", mode: "markers", name: "predicted", x: predicted.map((_, i) => i), y: predicted.map((b) => b / unit.size), marker: { color: "#9e9e9e", symbol: "line-ew-open", size: 18 }, hovertemplate: "Predicted round %{x}: %{y:.2f} " + unit.name + "<extra></extra>" });
    }
    Plotly.react(el, traces, {
      margin: { t: 10, r: 10, b: 50, l: 65 }, showlegend: false, bargap: 0.25,
      xaxis: { title: { text: "Pre-copy round" }, dtick: 1, rangemode: "tozero" },
      yaxis: { title: { text: "Sent in the round (" + unit.name + ")" }, rangemode: "tozero", automargin: true },
    }, { displayModeBar: false, responsive: true });
  }

  function renderNumbers(m) {
    const badge = $("state-badge");
    badge.textContent = LABELS[m.state] || m.state;
    badge.className = "badge " + (COLOURS[m.state] || "grey");
    badge.dataset.state = m.state;
    const expected = (current.prediction && current.prediction.bytes_sent) || (m.memory_bytes + (m.disk_bytes || 0));
    const percent = m.state === "completed" ? 100 : Math.min(99, (100 * m.bytes_sent) / (expected || 1));
    shownPercent = Math.max(shownPercent, percent);
    bar("sent-bar", shownPercent / 100);
    text("sent-label", HC.units.formatBytes(m.bytes_sent) + " of ~" + HC.units.formatBytes(expected) + " · " + Math.round(shownPercent) + " %");
    const copies = (m.memory_sent || 0) / (m.memory_bytes || 1);
    bar("memory-bar", Math.min(1, copies));
    text("memory-label", HC.units.formatBytes(m.memory_sent) + " of " + HC.units.formatBytes(m.memory_bytes) + " · " + copies.toFixed(2) + "×");
    const dirty = (m.dirty_remaining || 0) / (m.memory_bytes || 1);
    bar("dirty-bar", Math.min(1, dirty));
    text("dirty-label", HC.units.formatBytes(m.dirty_remaining || 0) + " · " + HC.units.formatPercent(dirty));
    const active = !FINAL.includes(m.state);
    // While it runs: the current rate. At the end: the average over the whole (simulated) migration.
    const average = m.total_time_s ? m.bytes_sent / m.total_time_s : null;
    text("stat-rate", active ? rate(m.rate_bps) : rate(average));
    text("stat-rate-label", active ? "Transfer rate" : "Average transfer rate");
    text("stat-eta", active && m.eta_s !== null && m.eta_s !== undefined ? HC.units.formatDuration(m.eta_s) : FINAL.includes(m.state) ? "done" : "–");
    text("stat-round", m.round !== null && m.round !== undefined ? String(m.round) : String(m.rounds_count || 0) + (active ? "" : " rounds"));
    text("stat-elapsed", HC.units.formatDuration(m.sim_elapsed_s));
    const p = current.prediction || {};
    text("pred-rounds", p.rounds !== undefined ? p.rounds : "–");
    text("pred-total", p.total_time_s !== undefined ? HC.units.formatDuration(p.total_time_s) : "–");
    text("pred-downtime", p.downtime_s !== undefined ? HC.units.formatDuration(p.downtime_s) : "–");
    text("pred-outcome", p.outcome || "–");
    text("act-rounds", active ? "…" : String(m.rounds_count));
    text("act-total", m.total_time_s !== null && m.total_time_s !== undefined ? HC.units.formatDuration(m.total_time_s) : active ? "…" : "–");
    text("act-downtime", m.downtime_s !== null && m.downtime_s !== undefined ? HC.units.formatDuration(m.downtime_s) : active ? "…" : "–");
    text("act-outcome", m.outcome || (active ? "…" : "–"));
    renderAccuracy(m, p, active);
    text("outcome-reason", m.outcome_reason || "");
    const cancel = $("cancel-form");
    if (cancel) cancel.hidden = !["queued", "prechecks", "precopy"].includes(m.state);
    const queueBox = $("queue-box");
    if (queueBox) queueBox.hidden = m.state !== "queued";
  }

  // Predicted against actual: the range, whether the actual fell in it, and the error.
  function renderAccuracy(m, p, active) {
    const best = m.predicted_total_time_s !== null && m.predicted_total_time_s !== undefined ? m.predicted_total_time_s : p.total_time_s;
    const low = m.predicted_p10_s !== null && m.predicted_p10_s !== undefined ? m.predicted_p10_s : p.p10_total_time_s;
    const high = m.predicted_p90_s !== null && m.predicted_p90_s !== undefined ? m.predicted_p90_s : p.p90_total_time_s;
    text("pred-range", low !== undefined && high !== undefined ? HC.units.formatDuration(low) + " – " + HC.units.formatDuration(high) : "–");
    const done = m.total_time_s !== null && m.total_time_s !== undefined && m.state === "completed";
    const verdict = $("act-verdict");
    if (done && low !== undefined && high !== undefined) {
      const inside = low <= m.total_time_s && m.total_time_s <= high;
      verdict.textContent = inside ? "inside the range" : m.total_time_s < low ? "faster than the range" : "slower than the range";
      verdict.dataset.inside = String(inside);
    } else {
      verdict.textContent = active ? "…" : "–";
      delete verdict.dataset.inside;
    }
    text("act-error", done && best ? HC.units.formatSignedPercent((m.total_time_s - best) / best) : active ? "…" : "–");
    const now = m.rate_limit_sentence ? m.rate_limit_sentence + "." : p.limit_sentence ? "predicted: " + p.limit_sentence + "." : "–";
    text("limit-now", now);
    text("limit-predicted", p.limit_sentence && m.rate_limit_sentence ? "Predicted before the start: " + p.limit_sentence + "." : "");
    const advice = $("limit-advice");
    if (advice && advice.dataset.filled !== "1" && (p.advice || []).length) {
      advice.replaceChildren();
      for (const a of p.advice) {
        const li = document.createElement("li");
        li.textContent = a.charAt(0).toUpperCase() + a.slice(1);
        advice.appendChild(li);
      }
      advice.dataset.filled = "1";
    }
    text("prediction-basis", p.basis || "");
  }

  function renderEvents(events) {
    const list = $("events");
    list.replaceChildren();
    for (const e of events || []) {
      const li = document.createElement("li");
      const when = document.createElement("span");
      when.className = "muted small";
      when.textContent = HC.units.formatTime(e.at) + (e.sim_time_s !== null && e.sim_time_s !== undefined ? " · t=" + HC.units.formatDuration(e.sim_time_s) : "");
      li.appendChild(when);
      li.appendChild(document.createElement("br"));
      li.appendChild(document.createTextNode(e.message));
      list.appendChild(li);
    }
  }

  function applySnapshot(snapshot) {
    current = snapshot;
    rounds = new Map((snapshot.rounds || []).map((r) => [r.index, r]));
    renderTimeline(snapshot.timeline);
    renderNumbers(snapshot);
    renderChart();
    renderEvents(snapshot.events);
  }

  let refetching = false;
  function onMessage(message) {
    for (const r of message.rounds || []) rounds.set(r.index, r);
    const stateChanged = message.state !== current.state;
    current = Object.assign({}, current, message, { prediction: current.prediction, rounds: Array.from(rounds.values()) });
    if (stateChanged) { current.timeline = timelineFrom(message.state, current.timeline); renderTimeline(current.timeline); }
    renderNumbers(current);
    if ((message.rounds || []).length || stateChanged) renderChart();
    if (stateChanged && !refetching) {
      // Events (and the final figures) are read from the API: the database is the truth.
      refetching = true;
      fetch("/api/migrations/" + id + "/", { credentials: "same-origin" })
        .then((r) => (r.ok ? r.json() : null))
        .then((data) => { if (data && data.events) renderEvents(data.events); })
        .finally(() => { refetching = false; });
    }
  }

  applySnapshot(initial);
  HC.live("/ws/migrations/" + id + "/", { onSnapshot: applySnapshot, onMessage: onMessage });
})();

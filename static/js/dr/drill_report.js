/* The drill report's timeline: Gantt-like horizontal bars (catch-up transfer, then boot) per workload. */
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("drill-report-data").textContent);
  const el = document.getElementById("timeline");
  const rows = data.results.slice().sort(function (a, b) {
    return a.priority - b.priority || (a.start_s || 0) - (b.start_s || 0) || a.workload.localeCompare(b.workload);
  });
  const recovered = rows.filter(function (r) { return r.state === "recovered"; });
  const failed = rows.filter(function (r) { return r.state !== "recovered"; });
  if (!rows.length) { el.classList.add("empty"); el.textContent = "No workload was brought up."; return; }
  const label = function (r) { return r.priority + " · " + r.workload; };
  const prep = data.steps.find(function (s) { return s.kind === "prepare_network"; });
  const traces = [];
  const categories = rows.map(label).reverse();
  if (prep) {
    categories.push("test network");
    traces.push({ type: "bar", orientation: "h", name: "prepare test network", y: ["test network"], x: [prep.sim_duration_s],
      base: [prep.sim_start_s], marker: { color: "#9e9e9e" }, hovertemplate: "test network ready at %{x:.0f} s<extra></extra>" });
  }
  traces.push({ type: "bar", orientation: "h", name: "catch-up transfer", y: recovered.map(label),
    x: recovered.map(function (r) { return Math.max(r.transfer_s, 0.001); }), base: recovered.map(function (r) { return r.start_s; }),
    marker: { color: "#00897b" }, customdata: recovered.map(function (r) { return HC.units.formatBytes(r.pending_bytes); }),
    hovertemplate: "%{y}<br>transfer %{x:.1f} s (%{customdata})<extra></extra>" });
  traces.push({ type: "bar", orientation: "h", name: "boot", y: recovered.map(label),
    x: recovered.map(function (r) { return r.boot_s; }), base: recovered.map(function (r) { return r.start_s + r.transfer_s; }),
    marker: { color: "#3f51b5" }, customdata: recovered.map(function (r) { return [r.recovered_on, r.up_at_s]; }),
    hovertemplate: "%{y}<br>boot %{x:.0f} s on %{customdata[0]}<br>up at %{customdata[1]:.0f} s<extra></extra>" });
  if (failed.length) {
    traces.push({ type: "scatter", mode: "markers", name: "did not come up", y: failed.map(label),
      x: failed.map(function () { return 0; }), marker: { symbol: "x", size: 12, color: "#c62828" },
      customdata: failed.map(function (r) { return r.reason; }), hovertemplate: "%{y}<br>%{customdata}<extra></extra>" });
  }
  const shapes = [];
  const annotations = [];
  function vline(x, colour, text) {
    shapes.push({ type: "line", xref: "x", yref: "paper", x0: x, x1: x, y0: 0, y1: 1, line: { color: colour, dash: "dash", width: 2 } });
    annotations.push({ xref: "x", yref: "paper", x: x, y: 1.02, text: text, showarrow: false, font: { color: colour, size: 12 }, xanchor: "left" });
  }
  vline(data.drill.target_rto_s, "#c62828", "target " + HC.units.formatDuration(data.drill.target_rto_s));
  if (data.drill.measured_rto_s !== null) vline(data.drill.measured_rto_s, "#2e7d32", "RTO " + HC.units.formatDuration(data.drill.measured_rto_s));
  const maxX = Math.max(data.drill.target_rto_s, data.drill.measured_rto_s || 0) * 1.08;
  Plotly.newPlot(el, traces, {
    barmode: "overlay", height: Math.max(260, 34 * categories.length + 110),
    margin: { l: 170, r: 30, t: 30, b: 45 },
    xaxis: { title: { text: "seconds since the drill started" }, range: [0, maxX], zeroline: false },
    yaxis: { type: "category", categoryorder: "array", categoryarray: categories, automargin: true },
    legend: { orientation: "h", y: -0.2 }, shapes: shapes, annotations: annotations,
  }, { displayModeBar: false, responsive: true });
})();

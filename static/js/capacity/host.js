/* One host's CPU and memory over time, with capacity and threshold lines. */
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("host-data").textContent);
  const el = document.getElementById("host-chart");
  const pts = data.points;
  if (!pts.length) { el.classList.add("empty"); el.textContent = "No samples in this range yet."; return; }
  const x = pts.map(function (p) { return p[0]; });
  const first = x[0]; const last = x[x.length - 1];
  Plotly.newPlot(el, [
    { x: x, y: pts.map(function (p) { return p[1]; }), type: "scatter", mode: "lines", name: "CPU", line: { color: "#3f51b5", width: 1.5 } },
    { x: x, y: pts.map(function (p) { return p[2]; }), type: "scatter", mode: "lines", name: "memory", line: { color: "#00897b", width: 1.5 } },
    { x: [first, last], y: [100, 100], type: "scatter", mode: "lines", name: "capacity", line: { color: "#424242", width: 1 }, hoverinfo: "skip" },
    { x: [first, last], y: [data.threshold_cpu, data.threshold_cpu], type: "scatter", mode: "lines", name: "threshold", line: { color: "#c62828", dash: "dash", width: 1.5 }, hoverinfo: "skip" },
  ], {
    margin: { l: 50, r: 10, t: 10, b: 40 }, height: 340, yaxis: { range: [0, 105], ticksuffix: " %" },
    xaxis: { type: "date" }, legend: { orientation: "h", y: 1.1 }, hovermode: "x unified",
  }, { displayModeBar: false, responsive: true });
})();

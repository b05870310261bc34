/* Compare page: the assessments' durations per workload, overlaid. */
(function () {
  "use strict";
  const node = document.getElementById("compare-data");
  const el = document.getElementById("compare-histogram");
  if (!node || !el || typeof Plotly === "undefined") return;
  const data = JSON.parse(node.textContent);
  const colours = ["#3f51b5", "#00897b", "#f9a825", "#c62828"];
  const traces = data.series.filter(function (s) { return s.durations.length; }).map(function (s, i) {
    return { type: "histogram", name: s.label + " (makespan " + HC.units.formatDuration(s.makespan_s) + ")", opacity: 0.6,
      x: s.durations.map(function (d) { return d / 60; }), marker: { color: colours[i % colours.length] }, nbinsx: 40,
      hovertemplate: "%{x} min: %{y} workloads<extra>" + s.label + "</extra>" };
  });
  if (!traces.length) { el.classList.add("empty"); el.textContent = "No assessment has moves to show yet."; return; }
  Plotly.newPlot(el, traces, {
    barmode: "overlay", height: 380, margin: { l: 55, r: 20, t: 20, b: 90 },
    xaxis: { title: { text: "minutes per workload" } }, yaxis: { title: { text: "workloads" } },
    legend: { orientation: "h", y: -0.3 },
  }, { displayModeBar: false, responsive: true });
})();

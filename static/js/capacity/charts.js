/* A utilisation chart: CPU and memory over time, with the capacity line (100 %) and the threshold. */
(function () {
  "use strict";
  window.HCCapacity = {
    utilisationChart: function (el, points, threshold, options) {
      if (!points.length) { el.classList.add("empty"); el.textContent = options.emptyText; return; }
      const x = points.map(function (p) { return p[0]; });
      const first = x[0]; const last = x[x.length - 1];
      Plotly.newPlot(el, [
        { x: x, y: points.map(function (p) { return p[1]; }), type: "scatter", mode: "lines", name: "CPU", line: { color: "#3f51b5", width: 1.5 } },
        { x: x, y: points.map(function (p) { return p[2]; }), type: "scatter", mode: "lines", name: "memory", line: { color: "#00897b", width: 1.5 } },
        { x: [first, last], y: [100, 100], type: "scatter", mode: "lines", name: "capacity", line: { color: "#424242", width: 1 }, hoverinfo: "skip" },
        { x: [first, last], y: [threshold, threshold], type: "scatter", mode: "lines", name: options.thresholdName, line: { color: "#c62828", dash: "dash", width: 1.5 }, hoverinfo: "skip" },
      ], Object.assign({
        yaxis: { range: [0, 105], ticksuffix: " %" }, xaxis: { type: "date" }, hovermode: "x unified",
      }, options.layout), { displayModeBar: false, responsive: true });
    },
  };
})();

/* One host's CPU and memory over time, with capacity and threshold lines. */
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("host-data").textContent);
  const el = document.getElementById("host-chart");
  HCCapacity.utilisationChart(el, data.points, data.threshold_cpu, {
    emptyText: "No samples in this range yet.", thresholdName: "threshold",
    layout: { margin: { l: 50, r: 10, t: 10, b: 40 }, height: 340, legend: { orientation: "h", y: 1.1 } },
  });
})();

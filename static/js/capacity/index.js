/* Capacity overview: heat map of hosts × time (CPU or memory), and each site's use with capacity and threshold. */
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("capacity-data").textContent);
  const heat = document.getElementById("host-heatmap");
  const config = { displayModeBar: false, responsive: true };
  let metric = "cpu";

  function drawHeatmap() {
    const h = data.heatmap;
    if (!h.times.length) {
      heat.classList.add("empty");
      heat.textContent = "No samples in this range yet: run `manage.py seed_capacity` or wait for the sampler.";
      return;
    }
    const threshold = metric === "cpu" ? data.threshold_cpu : data.threshold_mem;
    Plotly.react(heat, [{
      type: "heatmap", x: h.times, y: h.hosts, z: h[metric], zmin: 0, zmax: 100,
      colorscale: [[0, "#e8f5e9"], [0.5, "#81c784"], [threshold / 100 - 0.05, "#fbc02d"], [threshold / 100, "#ef6c00"], [1, "#b71c1c"]],
      colorbar: { title: { text: metric === "cpu" ? "CPU %" : "memory %" }, thickness: 12 },
      hovertemplate: "%{y}<br>%{x}<br>%{z:.0f} %<extra></extra>", xgap: 0, ygap: 1,
    }], {
      margin: { l: 230, r: 20, t: 10, b: 40 }, height: Math.max(260, 22 * h.hosts.length + 60),
      yaxis: { autorange: "reversed", automargin: true }, xaxis: { type: "date" },
    }, config);
  }

  heat.addEventListener("click", function () {});
  drawHeatmap();
  if (heat.on) {
    heat.on("plotly_click", function (event) {
      const p = event.points && event.points[0];
      if (!p) return;
      const i = data.heatmap.hosts.indexOf(p.y);
      if (i >= 0) window.location.href = data.heatmap.host_urls[i];
    });
  }
  document.querySelectorAll("[data-metric]").forEach(function (button) {
    button.addEventListener("click", function () {
      metric = button.dataset.metric;
      document.querySelectorAll("[data-metric]").forEach(function (b) { b.classList.toggle("primary", b === button); });
      drawHeatmap();
    });
  });

  document.querySelectorAll(".site-chart").forEach(function (el) {
    const site = data.sites[Number(el.dataset.siteIndex)];
    HCCapacity.utilisationChart(el, site.points, data.threshold_cpu, {
      emptyText: "No samples in this range.", thresholdName: "threshold " + data.threshold_cpu + " %",
      layout: { margin: { l: 45, r: 10, t: 10, b: 35 }, height: 240, legend: { orientation: "h", y: -0.25 } },
    });
  });
})();

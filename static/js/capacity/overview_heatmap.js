/* The overview's heat map: each host's CPU use over the last day, hourly means; click a row for the host. */
(function () {
  "use strict";
  const source = document.getElementById("overview-heatmap-data");
  const el = document.getElementById("overview-heatmap");
  if (!source || !el || !window.Plotly) return;
  const h = JSON.parse(source.textContent);
  if (!h.times.length) { el.textContent = "No samples in the last day."; return; }
  const t = Math.min(Math.max(h.threshold_cpu / 100, 0.1), 0.95);
  Plotly.newPlot(el, [{
    type: "heatmap", x: h.times, y: h.hosts, z: h.cpu, zmin: 0, zmax: 100,
    colorscale: [[0, "#e8f5e9"], [t * 0.6, "#81c784"], [t - 0.05, "#fbc02d"], [t, "#ef6c00"], [1, "#b71c1c"]],
    colorbar: { title: { text: "CPU %" }, thickness: 10 },
    hovertemplate: "%{y}<br>%{x}<br>CPU %{z:.0f} %<extra></extra>", ygap: 1,
  }], {
    margin: { l: 10, r: 10, t: 4, b: 50 }, height: Math.max(240, 18 * h.hosts.length + 70),
    yaxis: { autorange: "reversed", automargin: true, tickfont: { size: 10 } }, xaxis: { type: "date" },
  }, { displayModeBar: false, responsive: true });
  el.on("plotly_click", function (event) {
    const p = event.points && event.points[0];
    const i = p ? h.hosts.indexOf(p.y) : -1;
    if (i >= 0) window.location.href = h.host_urls[i];
  });
})();

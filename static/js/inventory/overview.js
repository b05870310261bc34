// Overview: site capacity charts and the topology of sites and links, drawn with the local plotly.js (no map tiles).
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("overview-data").textContent);
  const GIB = HC.units.GIB, TIB = HC.units.TIB;
  const INDIGO = "#3f51b5", TEAL = "#00897b", FREE = "#dfe4ee", MUTED = "#5f6b7f";
  const config = { displayModeBar: false, responsive: true };
  const font = { family: "-apple-system, Segoe UI, Roboto, Helvetica Neue, Arial, sans-serif", size: 12, color: "#1d2433" };

  function capacityChart(elementId, title, key, unit, scale) {
    const names = data.sites.map((s) => s.name);
    const used = data.sites.map((s) => s[key][0] / scale);
    const free = data.sites.map((s) => Math.max(s[key][1] - s[key][0], 0) / scale);
    const fmt = (v) => (v >= 100 ? v.toFixed(0) : v.toFixed(1)) + (unit ? " " + unit : "");
    const traces = [
      {
        type: "bar", name: "used", x: names, y: used, marker: { color: data.sites.map((s) => (s.kind === "public" ? TEAL : INDIGO)) },
        text: used.map(fmt), textposition: "inside", insidetextanchor: "middle", textfont: { color: "#fff" },
        hovertemplate: "%{x}<br>used: %{y:.1f} " + unit + "<extra></extra>",
      },
      {
        type: "bar", name: "free", x: names, y: free, marker: { color: FREE },
        hovertemplate: "%{x}<br>free: %{y:.1f} " + unit + "<extra></extra>",
      },
    ];
    const layout = {
      title: { text: title, font: { size: 14 }, x: 0.02 }, barmode: "stack", font, uniformtext: { minsize: 10, mode: "hide" },
      margin: { l: 50, r: 10, t: 36, b: 60 }, showlegend: false, paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)",
      yaxis: { title: { text: unit, font: { size: 11, color: MUTED } }, gridcolor: "#eef1f5" }, xaxis: { tickfont: { size: 11 } },
    };
    Plotly.newPlot(elementId, traces, layout, config);
  }

  function topologyChart() {
    const byId = Object.fromEntries(data.sites.map((s) => [s.id, s]));
    const traces = [];
    const annotations = [];
    data.links.forEach((link) => {
      const a = byId[link.a], b = byId[link.b];
      if (!a || !b) return;
      const width = 1.5 + Math.log10(link.mbit / 100) * 1.5;
      traces.push({
        type: "scatter", mode: "lines", x: [a.lon, b.lon], y: [a.lat, b.lat], hoverinfo: "skip", showlegend: false,
        line: { color: link.compression > 1 ? "#7986cb" : "#9aa5b8", width },
      });
      const label = link.rtt_ms + " ms · " + HC.units.formatMbit(link.mbit) + (link.compression > 1 ? " · WAN " + link.compression + "×" : "");
      annotations.push({
        x: (a.lon + b.lon) / 2, y: (a.lat + b.lat) / 2, text: label, showarrow: false,
        font: { size: 11, color: "#1d2433" }, bgcolor: "rgba(255,255,255,0.92)", bordercolor: "#dfe4ee", borderpad: 3,
      });
    });
    traces.push({
      type: "scatter", mode: "markers+text", showlegend: false,
      x: data.sites.map((s) => s.lon), y: data.sites.map((s) => s.lat),
      text: data.sites.map((s) => "<b>" + s.name + "</b>"),
      textposition: data.sites.map((s) => (s.lat < 38 ? "bottom center" : "top center")),
      customdata: data.sites.map((s) => [s.location, s.hosts, s.workloads, s.url]),
      hovertemplate: "<b>%{text}</b><br>%{customdata[0]}<br>%{customdata[1]} hosts · %{customdata[2]} workloads<extra></extra>",
      marker: {
        size: data.sites.map((s) => 16 + Math.min(14, Math.sqrt(s.workloads))),
        color: data.sites.map((s) => (s.kind === "public" ? TEAL : INDIGO)), line: { color: "#fff", width: 2 },
        symbol: data.sites.map((s) => (s.kind === "public" ? "diamond" : "circle")),
      },
    });
    const lons = data.sites.map((s) => s.lon), lats = data.sites.map((s) => s.lat);
    const pad = (lo, hi, p) => [lo - (hi - lo) * p - 1, hi + (hi - lo) * p + 1];
    const layout = {
      font, annotations, hovermode: "closest", margin: { l: 10, r: 10, t: 10, b: 10 },
      paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "#f9fafc",
      xaxis: { range: pad(Math.min(...lons), Math.max(...lons), 0.18), visible: false, fixedrange: true },
      yaxis: { range: pad(Math.min(...lats), Math.max(...lats), 0.3), visible: false, fixedrange: true },
    };
    const el = document.getElementById("topology-chart");
    Plotly.newPlot(el, traces, layout, config);
    el.on("plotly_click", (event) => {
      const point = event.points && event.points[0];
      if (point && point.customdata && point.customdata[3]) window.location.href = point.customdata[3];
    });
  }

  if (!data.sites.length) return;
  topologyChart();
  capacityChart("capacity-vcpus", "vCPUs (powered on)", "vcpus", "vCPUs", 1);
  capacityChart("capacity-memory", "Memory (powered on)", "memory", "GiB", GIB);
  const storageTiB = data.sites.some((s) => s.storage[1] > 10 * TIB);
  capacityChart("capacity-storage", "Storage", "storage", storageTiB ? "TiB" : "GiB", storageTiB ? TIB : GIB);
})();

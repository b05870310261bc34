/* An assessment's page: follow the background computation, then draw the waves (Gantt) and the durations. */
(function () {
  "use strict";
  const card = document.getElementById("progress-card");
  if (card) {
    const bar = document.getElementById("progress-bar");
    const text = document.getElementById("progress-text");
    const poll = async function () {
      try {
        const response = await fetch(card.dataset.url, { headers: { Accept: "application/json" } });
        if (response.ok) {
          const p = await response.json();
          bar.style.width = p.percent + "%";
          text.textContent = p.percent + " %" + (p.total ? " · " + p.done + " of " + p.total + " workloads pre-checked" : "");
          if (p.status === "done" || p.status === "failed") { window.location.reload(); return; }
        }
      } catch (e) { /* a dropped request: try again */ }
      window.setTimeout(poll, 1000);
    };
    window.setTimeout(poll, 500);
  }

  const node = document.getElementById("assessment-charts");
  if (!node || typeof Plotly === "undefined") return;
  const data = JSON.parse(node.textContent);
  if (!data) return;
  const fmt = HC.units.formatDuration;
  const gantt = document.getElementById("gantt");
  const bars = data.bars;
  if (!bars.length) {
    gantt.classList.add("empty");
    gantt.textContent = "No workload can move: nothing to schedule.";
  } else {
    const labels = bars.map(function (b, i) { return bars.length <= 40 ? b.name : String(i + 1); });
    const trace = function (name, colour, keep) {
      const sel = bars.map(function (b, i) { return i; }).filter(function (i) { return keep(bars[i]); });
      return {
        type: "bar", orientation: "h", name: name, marker: { color: colour },
        y: sel.map(function (i) { return labels[i]; }),
        x: sel.map(function (i) { return Math.max(bars[i].duration_s, 0.001); }),
        base: sel.map(function (i) { return bars[i].start_s; }),
        customdata: sel.map(function (i) {
          const b = bars[i];
          return [b.name, "wave " + b.wave + " · " + b.site, fmt(b.duration_s), b.downtime_s === null ? "–" : fmt(b.downtime_s), b.limit || "–"];
        }),
        hovertemplate: "%{customdata[0]}<br>%{customdata[1]}<br>takes %{customdata[2]}, downtime %{customdata[3]}<br>limit: %{customdata[4]}<extra></extra>",
      };
    };
    const traces = [
      trace("converges live", "#00897b", function (b) { return b.converged === true && !b.throttle; }),
      trace("converges with the guest slowed", "#f9a825", function (b) { return b.converged === true && b.throttle > 0; }),
      trace("forced (downtime over budget)", "#c62828", function (b) { return b.converged === false; }),
      trace("cold", "#9e9e9e", function (b) { return b.converged === null; }),
    ].filter(function (t) { return t.y.length; });
    const shapes = [];
    const annotations = [];
    const vline = function (x, colour, text, dash, y) {
      shapes.push({ type: "line", xref: "x", yref: "paper", x0: x, x1: x, y0: 0, y1: 1, line: { color: colour, dash: dash, width: 2 } });
      annotations.push({ xref: "x", yref: "paper", x: x, y: y, text: text, showarrow: false, font: { color: colour, size: 11 }, xanchor: "right" });
    };
    if (data.bound_s) vline(data.bound_s, "#3f51b5", "physical bound " + fmt(data.bound_s), "dot", 1.06);
    if (data.makespan_s) vline(data.makespan_s, "#c62828", "makespan " + fmt(data.makespan_s), "dash", 1.12);
    if (data.window_s && data.window_s < (data.makespan_s || 0) * 1.05) vline(data.window_s, "#f9a825", "one window", "dashdot", 1.0);
    const groups = {};
    data.waves.forEach(function (w) { (groups[w.group] = groups[w.group] || []).push(w); });
    if (data.waves.length > 1 && data.waves.length <= 30) {
      data.waves.forEach(function (w) {
        if (w.wave > 1) shapes.push({ type: "line", xref: "x", yref: "paper", x0: w.offset_s, x1: w.offset_s, y0: 0, y1: 1, line: { color: "#757575", width: 1 } });
      });
    }
    const maxX = Math.max(data.makespan_s || 0, data.bound_s || 0) * 1.05 || 1;
    // Ticks in the unit a person reads at this scale; bars stay in seconds.
    const unit = maxX > 3 * 3600 ? [3600, "h"] : maxX > 600 ? [60, "min"] : [1, "s"];
    const step = unit[0] * Math.max(1, Math.ceil(maxX / unit[0] / 8));
    const ticks = [];
    for (let t = 0; t <= maxX; t += step) ticks.push(t);
    Plotly.newPlot(gantt, traces, {
      barmode: "overlay", height: 440, margin: { l: bars.length <= 40 ? 170 : 50, r: 20, t: 50, b: 70 },
      xaxis: { title: { text: unit[1] + " from the start (waves one after another)" }, range: [0, maxX], zeroline: false,
        tickvals: ticks, ticktext: ticks.map(function (t) { return String(Math.round(t / unit[0])); }) },
      yaxis: { type: "category", categoryorder: "array", categoryarray: labels, autorange: "reversed", automargin: true,
        showticklabels: bars.length <= 40,
        title: { text: bars.length <= 40 ? "" : "moves by start time" } },
      legend: { orientation: "h", y: -0.22 }, shapes: shapes, annotations: annotations,
    }, { displayModeBar: false, responsive: true });
  }

  const hist = document.getElementById("histogram");
  if (!data.durations.length) {
    hist.classList.add("empty");
    hist.textContent = "No duration to show.";
  } else {
    const minutes = data.durations.map(function (s) { return s / 60; });
    Plotly.newPlot(hist, [{ type: "histogram", x: minutes, marker: { color: "#3f51b5" }, nbinsx: 40,
      hovertemplate: "%{x} min: %{y} workloads<extra></extra>" }], {
      height: 440, margin: { l: 55, r: 20, t: 20, b: 70 }, bargap: 0.05,
      xaxis: { title: { text: "minutes per workload (start to end, sharing the link)" } },
      yaxis: { title: { text: "workloads" } },
    }, { displayModeBar: false, responsive: true });
  }
})();

/* The calibration page: a histogram of (actual - predicted) / predicted, in percent, with zero marked. */
(function () {
  "use strict";
  const errors = JSON.parse(document.getElementById("calibration-errors").textContent);
  const el = document.getElementById("error-histogram");
  Plotly.newPlot(el, [{
    type: "histogram", x: errors, marker: { color: "#3f51b5" }, xbins: { size: 2 },
    hovertemplate: "%{x} %: %{y} migration(s)<extra></extra>",
  }], {
    margin: { t: 10, r: 10, b: 50, l: 55 }, bargap: 0.05, showlegend: false,
    xaxis: { title: { text: "Error of the prediction (%)" }, zeroline: true, zerolinewidth: 2, ticksuffix: " %" },
    yaxis: { title: { text: "Migrations" }, rangemode: "tozero" },
    shapes: [{ type: "line", x0: 0, x1: 0, yref: "paper", y0: 0, y1: 1, line: { color: "#9e9e9e", dash: "dot" } }],
  }, { displayModeBar: false, responsive: true });
  el.dataset.rendered = "true";
})();

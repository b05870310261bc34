/* A plan's page: measured RTO across drills, with the target drawn as a line. */
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("rto-trend-data").textContent);
  const el = document.getElementById("rto-trend");
  if (!el) return;
  const points = data.points;
  if (!points.length) {
    el.classList.add("empty");
    el.textContent = "No finished drill yet: run one to start the trend.";
    return;
  }
  // One evenly spaced point per drill, labelled with its number and time: drills minutes apart (by hand)
  // and nights apart (the schedule) both read clearly, which a time axis does not.
  const x = points.map(function (p) {
    return "#" + p.id + "<br>" + (p.at ? HC.units.formatDatetime(p.at) : "");
  });
  const colours = points.map(function (p) { return p.verdict === "met" ? "#2e7d32" : "#c62828"; });
  const trace = {
    x: x, y: points.map(function (p) { return p.rto_s; }),
    type: "scatter", mode: "lines+markers", name: "measured RTO",
    line: { color: "#3f51b5", width: 2 }, marker: { size: 9, color: colours },
    customdata: points.map(function (p) { return ["#" + p.id, p.verdict === "met" ? "RTO met" : "RTO missed", p.url]; }),
    hovertemplate: "Drill %{customdata[0]}<br>%{y:.0f} s · %{customdata[1]}<extra></extra>",
  };
  const target = {
    x: x, y: x.map(function () { return data.target_rto_s; }), type: "scatter", mode: "lines",
    name: "target " + HC.units.formatDuration(data.target_rto_s), line: { color: "#c62828", dash: "dash", width: 2 },
    hoverinfo: "skip",
  };
  const maxY = Math.max(data.target_rto_s, ...points.map(function (p) { return p.rto_s; }));
  Plotly.newPlot(el, [trace, target], {
    margin: { l: 60, r: 20, t: 10, b: 50 }, height: 280,
    yaxis: { title: { text: "seconds" }, rangemode: "tozero", range: [0, maxY * 1.15] },
    xaxis: { type: "category", automargin: true },
    legend: { orientation: "h", y: 1.12 }, hovermode: "closest",
  }, { displayModeBar: false, responsive: true });
  el.on("plotly_click", function (event) {
    const point = event.points && event.points[0];
    if (point && point.customdata && point.customdata[2]) window.location.href = point.customdata[2];
  });
})();

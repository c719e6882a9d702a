// Draws the report charts with the plotly.js served from our own static files (no CDN).
// Each <div data-chart="name" data-chart-source="id"> gets the figure `charts[name]` from the
// JSON that Django's json_script wrote into <script id="id">; the table beside it has the figures.
(function () {
  "use strict";

  var sources = {};

  function figures(id) {
    if (!(id in sources)) {
      var element = document.getElementById(id);
      sources[id] = element ? JSON.parse(element.textContent).charts || {} : {};
    }
    return sources[id];
  }

  function draw() {
    if (typeof window.Plotly === "undefined") {
      return; // the tables still carry every figure
    }
    document.querySelectorAll("[data-chart][data-chart-source]").forEach(function (element) {
      var figure = figures(element.dataset.chartSource)[element.dataset.chart];
      if (!figure) {
        return;
      }
      window.Plotly.newPlot(element, figure.data, figure.layout, {
        displaylogo: false,
        responsive: true,
        modeBarButtonsToRemove: ["sendDataToCloud"],
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();

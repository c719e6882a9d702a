// Draws every report page's charts (earned growth, NPS, cohorts, referrals) with the plotly.js
// served from our own static files (no CDN). Each <div data-chart="name" data-chart-source="id">
// gets the figure `charts[name]` from the JSON that Django's json_script wrote into <script id="id">;
// the table beside each chart carries the same figures, so the page reads without JavaScript too.
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

  function empty(element, text) {
    var note = document.createElement("p");
    note.className = "muted chart-empty";
    note.textContent = text;
    element.appendChild(note);
  }

  function hasValues(figure) {
    return figure.data.some(function (trace) {
      return (trace.y || []).concat(trace.x || []).some(function (value) {
        return typeof value === "number";
      });
    });
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
      if (!hasValues(figure)) {
        empty(element, "Nothing to draw yet: see the table.");
        return;
      }
      window.Plotly.newPlot(element, figure.data, figure.layout, {
        displaylogo: false,
        responsive: true,
        // Nothing leaves the site: no "Share chart" or "Edit in Chart Studio" (each uploads the
        // figures to Plotly's cloud; the button's name changed between plotly.js versions).
        showSendToCloud: false,
        showEditInChartStudio: false,
        modeBarButtonsToRemove: ["sendDataToCloud", "sendChartToCloud", "editInChartStudio", "lasso2d", "select2d"],
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();

// Draws the agents page's charts with Chart.js from the figures the page carries as JSON (the same as its tables).
(function () {
  "use strict";
  var data = document.getElementById("agent-days");
  if (!data || typeof window.Chart === "undefined") return;
  var days = JSON.parse(data.textContent || "[]");
  var dayList = Array.from(
    new Set(
      days.map(function (d) {
        return d.day;
      }),
    ),
  ).sort();
  var agents = Array.from(
    new Set(
      days.map(function (d) {
        return d.agent;
      }),
    ),
  ).sort();
  var palette = ["#0550ae", "#bc4c00", "#1a7f37", "#8250df", "#cf222e", "#9a6700", "#116329", "#953800"];
  function sum(day, key, agent) {
    return days
      .filter(function (d) {
        return d.day === day && (agent === undefined || d.agent === agent);
      })
      .reduce(function (n, d) {
        return n + d[key];
      }, 0);
  }
  var common = { responsive: true, maintainAspectRatio: false, animation: false, plugins: { legend: { position: "bottom" } } };
  function draw(id, config) {
    var canvas = document.getElementById(id);
    if (canvas) new window.Chart(canvas, config);
  }
  var outcomes = [
    ["allowed", "Allowed", "#1a7f37"],
    ["needs_approval", "Needs approval", "#9a6700"],
    ["denied", "Denied", "#cf222e"],
    ["error", "Error", "#8250df"],
  ];
  draw("chart-outcomes", {
    type: "bar",
    data: {
      labels: dayList,
      datasets: outcomes.map(function (o) {
        return {
          label: o[1],
          backgroundColor: o[2],
          data: dayList.map(function (day) {
            return sum(day, o[0]);
          }),
        };
      }),
    },
    options: Object.assign({}, common, { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } }),
  });
  ["prs", "lines", "overrides", "compute_minutes"].forEach(function (key) {
    draw("chart-" + (key === "compute_minutes" ? "compute" : key), {
      type: "bar",
      data: {
        labels: dayList,
        datasets: agents.map(function (agent, i) {
          return {
            label: agent,
            borderColor: palette[i % palette.length],
            backgroundColor: palette[i % palette.length],
            data: dayList.map(function (day) {
              return sum(day, key, agent);
            }),
          };
        }),
      },
      options: Object.assign({}, common, { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }),
    });
  });
  document.body.setAttribute("data-charts", "drawn");
})();

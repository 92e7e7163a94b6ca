// Draws the two charts from the counts Solr returned (the page computes no number itself).
(function () {
  const data = JSON.parse(document.getElementById("chart-data").textContent || "{}");
  const colors = ["#c0392b", "#2980b9", "#27ae60", "#8e44ad", "#d35400", "#16a085", "#7f8c8d"];
  function draw(id, part, unit) {
    const canvas = document.getElementById(id);
    if (!canvas || !part || !window.Chart) return;
    const labels = part.labels.map(function (l) { return unit === "hour" ? l.slice(5, 13) + "h" : l.slice(0, 10); });
    const datasets = Object.keys(part.series).map(function (code, i) {
      return { label: code, data: part.series[code], backgroundColor: colors[i % colors.length], stack: "codes" };
    });
    new window.Chart(canvas, {
      type: "bar",
      data: { labels: labels, datasets: datasets },
      options: { animation: false, responsive: true, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } }
    });
  }
  draw("hours", data.hours, "hour");
  draw("days", data.days, "day");
})();

// Draws the two charts from the counts Solr returned (the page computes no number itself).
(function () {
  const data = JSON.parse(document.getElementById("chart-data").textContent || "{}");
  const colors = ["#c0392b", "#2980b9", "#27ae60", "#8e44ad", "#d35400", "#16a085", "#7f8c8d"];
  // One colour per error code, the same on every chart and page (pipeline.models.ErrorCode).
  const known = {
    missing_address: "#c0392b", missing_phone: "#2980b9", bad_email: "#27ae60",
    invalid_order: "#8e44ad", store_error: "#d35400", platform_error: "#16a085",
    incomplete_order: "#2c3e50", unknown_status: "#7f8c8d"
  };
  function colorOf(code) {
    if (known[code]) return known[code];
    let hash = 0;
    for (let i = 0; i < code.length; i++) hash = (hash * 31 + code.charCodeAt(i)) >>> 0;
    return colors[hash % colors.length];
  }
  function draw(id, part, unit) {
    const canvas = document.getElementById(id);
    if (!canvas || !part || !window.Chart) return;
    const labels = part.labels.map(function (l) { return unit === "hour" ? l.slice(5, 13) + "h" : l.slice(0, 10); });
    const datasets = Object.keys(part.series).map(function (code) {
      return { label: code, data: part.series[code], backgroundColor: colorOf(code), stack: "codes" };
    });
    new window.Chart(canvas, {
      type: "bar",
      data: { labels: labels, datasets: datasets },
      options: { animation: false, responsive: true, maintainAspectRatio: false, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } }
    });
  }
  draw("hours", data.hours, "hour");
  draw("days", data.days, "day");
})();

// Orders-per-minute chart, kept current by the dashboard's event stream.
(function () {
  const canvas = document.getElementById("per-minute");
  const counts = JSON.parse(canvas.dataset.counts);
  let start = new Date(canvas.dataset.start);
  const label = (i) => new Date(start.getTime() + i * 60000)
    .toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  const chart = new Chart(canvas, {
    type: "bar",
    data: { labels: counts.map((_, i) => label(i)),
            datasets: [{ label: "Orders", data: counts, backgroundColor: "#6366f1", borderRadius: 3 }] },
    options: { animation: false, plugins: { legend: { display: false } },
               scales: { y: { beginAtZero: true, ticks: { precision: 0 } },
                         x: { ticks: { maxTicksLimit: 12 } } } },
  });

  function bump(at) {
    let index = Math.floor((at - start) / 60000);
    while (index >= counts.length) {  // a new minute: slide the window
      counts.shift(); counts.push(0); chart.data.labels.shift();
      start = new Date(start.getTime() + 60000);
      chart.data.labels.push(label(counts.length - 1)); index -= 1;
    }
    if (index >= 0) { counts[index] += 1; chart.update(); }
  }

  // Same shapes as the server renders: "17.99 USD", "2026-11-23 23:27" (UTC).
  function money(minor, currency) {
    const digits = new Intl.NumberFormat("en", { style: "currency", currency })
      .resolvedOptions().maximumFractionDigits;
    return (minor / 10 ** digits).toFixed(digits) + " " + currency;
  }
  const when = (iso) => new Date(iso).toISOString().slice(0, 16).replace("T", " ");

  const names = JSON.parse(document.getElementById("latest").dataset.names);
  const live = document.getElementById("live");
  const source = new EventSource("/admin/stream");
  source.onopen = () => live.classList.add("on");
  source.onerror = () => live.classList.remove("on");
  source.addEventListener("order.created", (message) => {
    const event = JSON.parse(message.data);
    bump(new Date(event.created_at));
    const body = document.querySelector("#latest tbody");
    const empty = body.querySelector("tr.empty");
    if (empty) empty.remove();
    const row = document.createElement("tr");
    const cells = ["#" + event.data.number, when(event.created_at),
                   names[event.data.channel] || event.data.channel, event.data.status,
                   money(event.data.total, event.data.currency)];
    cells.forEach((text, i) => {
      const cell = document.createElement("td");
      if (i === 0) {
        const link = document.createElement("a");
        link.href = "/admin/orders/" + event.data.order_id; link.textContent = text;
        cell.appendChild(link);
      } else if (i === 3) {
        const badge = document.createElement("span");
        badge.className = "badge " + text; badge.textContent = text;
        cell.appendChild(badge);
      } else { cell.textContent = text; }
      if (i === 4) cell.className = "num";
      row.appendChild(cell);
    });
    body.prepend(row);
    while (body.children.length > 10) body.lastElementChild.remove();
  });
})();

// The control page's counters follow the event's counter stream (the viewers' own).
(function () {
  var root = document.getElementById("live-counters");
  if (!root || !window.EventSource) return;
  var source = new EventSource("/shop/live/" + root.dataset.event + "/counters");
  source.addEventListener("counters", function (message) {
    var c = JSON.parse(message.data);
    var set = function (id, value) { var el = document.getElementById(id); if (el) el.textContent = value; };
    set("c-left", c.left); set("c-sold", c.sold); set("c-viewers", c.viewers);
    set("c-pinned", c.title || "—");
  });
})();

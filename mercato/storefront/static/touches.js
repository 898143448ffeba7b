// The shop's touches for analytics (docs/analytics/ledger.md): a visit once per browser
// session with the link's parameters, product views, "Buy now", and the purchase on the
// thank-you page under the order's event id (the server's record of it is the same row).
// A visitor id is made, kept and sent only once the visitor has said yes.
(function () {
  "use strict";
  var CONSENT = "mercato_analytics_consent";
  var VISITOR = "mercato_visitor";
  var PARAMS = ["ch", "ref", "post", "conv", "utm_source", "utm_medium", "utm_campaign",
    "utm_content", "utm_term"];

  function stored(store, key) {
    try { return window[store].getItem(key); } catch (e) { return null; }
  }
  function store(kind, key, value) {
    try { window[kind].setItem(key, value); } catch (e) { /* private mode: not kept */ }
  }
  function randomId() {
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }
  function visitorId() {
    if (stored("localStorage", CONSENT) !== "yes") return null;
    var id = stored("localStorage", VISITOR);
    if (!id) { id = randomId(); store("localStorage", VISITOR, id); }
    return id;
  }
  function linkParams() {
    var query = new URLSearchParams(location.search), found = {};
    PARAMS.forEach(function (k) { var v = query.get(k); if (v) found[k] = v.slice(0, 255); });
    return found;
  }
  function send(kind, extra) {
    var body = Object.assign({ kind: kind, event_id: randomId(), params: linkParams() }, extra);
    var visitor = visitorId();
    if (visitor) body.visitor_id = visitor;
    fetch("/api/v1/analytics/touches", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      credentials: "omit",
      keepalive: true
    }).catch(function () { /* analytics never stands in a buyer's way */ });
  }
  function meta(name) {
    var tag = document.querySelector('meta[name="' + name + '"]');
    return tag ? tag.content : null;
  }

  function askConsent() {
    if (stored("localStorage", CONSENT)) return;
    var bar = document.getElementById("consent");
    if (!bar) return;
    bar.hidden = false;
    bar.addEventListener("click", function (event) {
      var answer = event.target.getAttribute("data-consent");
      if (!answer) return;
      store("localStorage", CONSENT, answer);
      bar.hidden = true;
    });
  }

  askConsent();
  if (!stored("sessionStorage", "mercato_visit")) {
    store("sessionStorage", "mercato_visit", "1");
    send("visit");
  }
  var product = meta("mercato-product");
  if (product) {
    send("product_view", { product_id: product });
    var buy = document.querySelector("form.buy");
    if (buy) buy.addEventListener("submit", function () {
      send("add_to_cart", { product_id: product });
    });
  }
  var purchase = meta("mercato-purchase");
  if (purchase) send("purchase", { event_id: purchase, params: {} });
})();

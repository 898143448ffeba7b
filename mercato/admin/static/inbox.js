// The inbox pages, kept current by the inbox's event stream. Any message or
// conversation event makes the page re-read itself (a GET, which changes nothing) and
// swap in the parts that changed: the server renders every part, here and on load.
//   #inbox-list[data-stream]: the conversation list.
//   #thread[data-stream]: one thread. Its messages, header, actions and orders are
//   swapped (a form the agent is using stays as it is); the composer only when the reply
//   window opened or closed and nothing is typed in it. A thread on screen with unread messages is marked read by the same
//   POST as its "Mark read" button: opening a page never changes anything by itself.
(function () {
  var root = document.querySelector("[data-stream]");
  if (!root) return;
  var source = null;
  var isThread = root.id === "thread";
  var parts = isThread
    ? ["thread-head", "messages", "conversation-actions", "orders", "nav-unread"]
    : ["inbox-list", "nav-unread"];

  // "14:05 UTC" as rendered -> the reader's local time ("tomorrow 16:05", "Dec 7 09:12").
  function localTimes(scope) {
    scope.querySelectorAll("time[data-local]").forEach(function (el) {
      var at = new Date(el.getAttribute("datetime"));
      if (isNaN(at)) return;
      var hm = at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      var day = new Date(), tomorrow = new Date(day.getTime() + 86400000);
      el.title = at.toString();
      if (at.toDateString() === day.toDateString()) el.textContent = hm;
      else if (el.dataset.local === "time" && at.toDateString() === tomorrow.toDateString()) {
        el.textContent = "tomorrow " + hm;
      } else {
        el.textContent = at.toLocaleDateString([], { month: "short", day: "numeric" }) + " " + hm;
      }
    });
  }

  function scrollToEnd() {
    var messages = document.getElementById("messages");
    if (messages) messages.scrollTop = messages.scrollHeight;
  }

  function nearEnd() {
    var messages = document.getElementById("messages");
    return !messages || messages.scrollHeight - messages.scrollTop - messages.clientHeight < 80;
  }

  // Nothing changed by the agent in ``scope`` (a field edited, a choice made, a field in
  // focus): it may be swapped for the fresh copy.
  function untouched(scope) {
    var typed = false;
    scope.querySelectorAll("textarea, input:not([type=hidden]), select").forEach(function (field) {
      if (field.tagName === "SELECT") {
        var initial = 0;  // the option marked selected, else the first
        for (var i = 0; i < field.options.length; i++) {
          if (field.options[i].defaultSelected) initial = i;
        }
        if (field.selectedIndex !== initial) typed = true;
      } else if (field.type === "checkbox") {
        if (field.checked !== field.defaultChecked) typed = true;
      } else if (field.value !== field.defaultValue) {
        typed = true;
      }
    });
    return !typed && !scope.contains(document.activeElement);
  }

  // What the agent opened or typed in a comment's actions, kept across a swap: copied
  // onto the fresh copy (when it has the same fields), focus included.
  var FIELDS = "textarea, input:not([type=hidden])";
  function actionsInUse(scope) {
    var kept = [];
    scope.querySelectorAll(".comment-actions").forEach(function (actions) {
      if (!actions.querySelector("details[open]") && untouched(actions)) return;
      var message = actions.closest("li.msg");
      if (!message) return;
      var fields = Array.prototype.slice.call(actions.querySelectorAll(FIELDS));
      kept.push({
        id: message.id,
        open: Array.prototype.map.call(actions.querySelectorAll("details"), function (d) {
          return d.open;
        }),
        values: fields.map(function (f) { return f.value; }),
        focused: fields.indexOf(document.activeElement)
      });
    });
    return kept;
  }
  function restoreActions(kept) {
    kept.forEach(function (k) {
      var actions = document.querySelector('[id="' + k.id + '"] .comment-actions');
      if (!actions) return;
      var details = actions.querySelectorAll("details"), fields = actions.querySelectorAll(FIELDS);
      if (details.length !== k.open.length || fields.length !== k.values.length) return;
      details.forEach(function (d, i) { d.open = k.open[i]; });
      fields.forEach(function (f, i) { f.value = k.values[i]; });
      if (k.focused >= 0) fields[k.focused].focus();
    });
  }

  function swap(html) {
    var fresh = new DOMParser().parseFromString(html, "text/html");
    var follow = nearEnd(), inUse = [];
    parts.forEach(function (id) {
      var now = document.getElementById(id), next = fresh.getElementById(id);
      if (!now || !next) return;
      if (id === "messages") inUse = actionsInUse(now);
      // The side's forms (status, assignee, labels, a refund's reason) stay while in use.
      if ((id === "conversation-actions" || id === "orders") && !untouched(now)) return;
      now.replaceWith(document.adoptNode(next));
    });
    restoreActions(inUse);
    var composer = document.getElementById("composer"), nextComposer = fresh.getElementById("composer");
    if (composer && nextComposer && composer.dataset.window !== nextComposer.dataset.window &&
        untouched(composer)) {
      composer.replaceWith(document.adoptNode(nextComposer));
    }
    localTimes(document);
    showLive();
    if (isThread && follow) scrollToEnd();
    markRead();
  }

  function showLive() {
    var live = document.getElementById("live");
    if (live) live.classList.toggle("on", !!source && source.readyState === EventSource.OPEN);
  }

  var timer = null, busy = false, again = false;
  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    var url = new URL(location.href);  // the page as it is, without its one-time note
    url.searchParams.delete("msg");
    url.searchParams.delete("error");
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) { if (html) swap(html); })
      .catch(function () {})
      .then(function () {
        busy = false;
        if (again) { again = false; refresh(); }
      });
  }
  function soon() {  // a burst of events (sent, delivered, read) costs one re-read
    clearTimeout(timer);
    timer = setTimeout(refresh, 150);
  }

  var marking = false;
  function markRead() {
    var form = document.getElementById("mark-read");
    if (!form || marking || document.visibilityState !== "visible") return;
    marking = true;
    fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) { marking = false; if (html) swap(html); })
      .catch(function () { marking = false; });
  }

  localTimes(document);
  if (isThread) {
    scrollToEnd();
    markRead();
    document.addEventListener("visibilitychange", markRead);
  }
  source = new EventSource(root.dataset.stream);
  source.onopen = function () {
    showLive();
    refresh();  // what changed while the stream was away
  };
  source.onerror = showLive;
  ["message.received", "message.queued", "message.sent", "message.delivered", "message.read",
   "message.failed", "message.hidden", "message.shown", "message.deleted",
   "conversation.created", "conversation.updated", "conversation.reopened"]
    .forEach(function (type) { source.addEventListener(type, soon); });
})();

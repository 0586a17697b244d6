// Live progress page: follows /reports/{id}/events with the browser's EventSource. Text only (textContent),
// events deduplicated by id, so a reconnect after a network loss or a reload never shows an event twice.
(function () {
  "use strict";
  var root = document.getElementById("live");
  if (!root || typeof window.EventSource !== "function") return;

  var bar = document.getElementById("live-bar");
  var percent = document.getElementById("live-percent");
  var state = document.getElementById("live-state");
  var considered = document.getElementById("live-considered");
  var read = document.getElementById("live-read");
  var sources = document.getElementById("live-sources");
  var feed = document.getElementById("live-feed");
  var connection = document.getElementById("live-connection");
  var announce = document.getElementById("live-announce");
  var lastSeq = parseInt(root.getAttribute("data-last-event-id") || "0", 10) || 0;
  var maxFeed = 200;
  var source = null;

  function remove(id) {
    var node = document.getElementById(id);
    if (node && node.parentNode) node.parentNode.removeChild(node);
  }

  function say(text) {
    // A polite live region: screen readers hear milestones, not every message.
    announce.textContent = text;
  }

  function fresh(event) {
    var seq = parseInt(event.lastEventId, 10);
    if (!isFinite(seq) || seq <= lastSeq) return false;
    lastSeq = seq;
    return true;
  }

  function parse(event) {
    try { return JSON.parse(event.data); } catch (e) { return null; }
  }

  function addFeed(text, kind) {
    if (!text) return;
    remove("live-feed-empty");
    var item = document.createElement("li");
    item.className = "live-feed-" + kind + " live-new";
    item.setAttribute("data-seq", String(lastSeq));
    item.textContent = text;
    feed.appendChild(item);
    while (feed.children.length > maxFeed) feed.removeChild(feed.firstElementChild);
    feed.scrollTop = feed.scrollHeight;
  }

  function safeURL(text) {
    try {
      var url = new URL(text);
      return url.protocol === "http:" || url.protocol === "https:" ? url : null;
    } catch (e) { return null; }
  }

  function setSources(list) {
    if (!Array.isArray(list) || list.length === 0) return;
    var links = [];
    list.slice(-5).forEach(function (text) {
      var url = safeURL(String(text));
      if (!url) return;
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = url.href;
      link.rel = "nofollow noopener noreferrer";
      link.target = "_blank";
      var label = url.host + (url.pathname === "/" ? "" : url.pathname);
      link.textContent = label.length > 80 ? label.slice(0, 79) + "\u2026" : label;
      item.appendChild(link);
      links.push(item);
    });
    if (links.length === 0) return;
    remove("live-sources-empty");
    while (sources.firstChild) sources.removeChild(sources.firstChild);
    links.forEach(function (item) { sources.appendChild(item); });
  }

  function setProgress(value) {
    var number = Math.max(0, Math.min(100, Number(value) || 0));
    bar.value = number;
    bar.textContent = Math.round(number) + "%";
    percent.textContent = Math.round(number) + "%";
  }

  // "Running for": the server's count at render time, advanced by this page's own clock (immune to a wrong
  // clock on the visitor's machine). Same wording as LiveView.elapsedText.
  var elapsed = document.getElementById("live-elapsed");
  var elapsedAtLoad = parseInt(elapsed ? elapsed.getAttribute("data-elapsed-seconds") : "", 10);
  var loadedAt = Date.now();
  var ticker = null;
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function elapsedText(s) {
    if (s < 60) return s + " s";
    if (s < 3600) return Math.floor(s / 60) + " min " + pad(s % 60) + " s";
    return Math.floor(s / 3600) + " h " + pad(Math.floor((s % 3600) / 60)) + " min";
  }
  function tick() {
    elapsed.textContent = elapsedText(elapsedAtLoad + Math.floor((Date.now() - loadedAt) / 1000));
  }
  function stopTicking() { if (ticker !== null) { clearInterval(ticker); ticker = null; } }
  if (elapsed && isFinite(elapsedAtLoad)) ticker = setInterval(tick, 1000);

  function connect() {
    // The server-rendered page already shows everything up to data-last-event-id; EventSource sends
    // Last-Event-ID itself on its own reconnects.
    var url = root.getAttribute("data-events-url").replace(/last_event_id=\d+/, "last_event_id=" + lastSeq);
    source = new EventSource(url);

    source.addEventListener("open", function () {
      connection.hidden = true;
    });
    source.addEventListener("error", function (event) {
      if (event.data) return; // a server-sent `error` event, handled below
      connection.hidden = false;
      connection.textContent = "Connection lost. Reconnecting\u2026";
    });
    source.addEventListener("status", function (event) {
      if (!fresh(event)) return;
      var data = parse(event);
      if (!data) return;
      if (data.state) state.textContent = data.state.charAt(0).toUpperCase() + data.state.slice(1);
      addFeed(data.message, "status");
    });
    source.addEventListener("progress", function (event) {
      if (!fresh(event)) return;
      var data = parse(event);
      if (!data) return;
      setProgress(data.progress);
      if (typeof data.sources_considered === "number") considered.textContent = String(data.sources_considered);
      if (typeof data.sources_read === "number") read.textContent = String(data.sources_read);
      setSources(data.recent_sources);
      var rounded = Math.round(Number(data.progress) || 0);
      if (rounded % 25 === 0 && rounded > 0) say("Progress " + rounded + "%");
    });
    source.addEventListener("message", function (event) {
      if (!fresh(event)) return;
      var data = parse(event);
      if (data) addFeed(data.text, "message");
    });
    source.addEventListener("error", function (event) {
      // Server-sent `error` events carry data; the transport's error events do not.
      if (!event.data || !fresh(event)) return;
      var data = parse(event);
      if (data) addFeed(data.message, "error");
    });
    source.addEventListener("completed", function (event) {
      var data = parse(event);
      source.close();
      stopTicking();
      setProgress(100);
      state.textContent = "Complete";
      say("The report is ready. Opening it.");
      var target = data && data.slug ? "/r/" + encodeURIComponent(data.slug) : window.location.pathname;
      window.location.assign(target);
    });
    source.addEventListener("failed", function () {
      source.close();
      stopTicking();
      // The page itself explains the failure and offers a retry.
      window.location.reload();
    });
  }

  connect();
})();

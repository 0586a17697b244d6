// Home page: live progress for the first few reports in progress (one EventSource each; HTTP/2 carries them
// on one connection). Text only; a finished report's line links to the report.
(function () {
  "use strict";
  if (typeof window.EventSource !== "function") return;
  var items = document.querySelectorAll("li[data-report-id]");
  var limit = Math.min(items.length, 3);

  function follow(item) {
    var id = item.getAttribute("data-report-id");
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) return;
    var bar = document.createElement("progress");
    bar.className = "progress";
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute("aria-label", "Progress");
    item.appendChild(bar);
    var label = item.querySelector(".muted");
    var lastSeq = 0;
    var source = new EventSource("/reports/" + id + "/events");

    function fresh(event) {
      var seq = parseInt(event.lastEventId, 10);
      if (!isFinite(seq) || seq <= lastSeq) return false;
      lastSeq = seq;
      return true;
    }
    function data(event) {
      try { return JSON.parse(event.data); } catch (e) { return null; }
    }
    source.addEventListener("progress", function (event) {
      var value = fresh(event) && data(event);
      if (!value) return;
      bar.value = Math.max(0, Math.min(100, Number(value.progress) || 0));
      if (label) label.textContent = Math.round(bar.value) + "%";
    });
    source.addEventListener("status", function (event) {
      var value = fresh(event) && data(event);
      if (value && value.state && label) label.textContent = value.state;
    });
    source.addEventListener("completed", function (event) {
      source.close();
      var value = data(event);
      bar.value = 100;
      if (label) label.textContent = "complete";
      var link = item.querySelector("a");
      if (link && value && value.slug) link.href = "/r/" + encodeURIComponent(value.slug);
    });
    source.addEventListener("failed", function () {
      source.close();
      if (label) label.textContent = "failed";
    });
  }

  for (var i = 0; i < limit; i++) follow(items[i]);
})();

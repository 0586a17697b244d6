// Batch screening page: live progress from the batch's event stream, the results table refreshed from
// GET /research/batch/{id}, and sorting by confidence. Upstream text only ever goes through textContent.
(function () {
  "use strict";
  var root = document.getElementById("batch");
  if (!root) return;
  var id = root.getAttribute("data-batch-id");
  var threshold = parseFloat(root.getAttribute("data-threshold")) || 0;
  var tbody = document.querySelector("#batch-results tbody");
  var progress = document.getElementById("batch-progress");
  var progressText = document.getElementById("batch-progress-text");
  var live = document.getElementById("batch-live");
  var descending = true;

  function safeURL(url) {
    return /^https?:\/\//i.test(url) ? url : null;
  }

  function cell(row, text) {
    var td = document.createElement("td");
    td.textContent = text;
    row.appendChild(td);
    return td;
  }

  function badge(text, kind) {
    var span = document.createElement("span");
    span.className = "badge badge--" + kind;
    span.textContent = text;
    return span;
  }

  function render(doc) {
    var finished = 0;
    var rows = doc.results.map(function (r, index) { return { r: r, index: index }; });
    rows.sort(function (a, b) {
      var d = descending ? b.r.confidence - a.r.confidence : a.r.confidence - b.r.confidence;
      return d !== 0 ? d : a.index - b.index;
    });
    while (tbody.firstChild) tbody.removeChild(tbody.firstChild);
    rows.forEach(function (item) {
      var r = item.r;
      var done = r.status === "completed";
      if (r.status !== "queued" && r.status !== "running") finished += 1;
      var high = done && r.confidence >= threshold - 1e-9;
      var tr = document.createElement("tr");
      if (high) tr.className = "is-high";
      if (r.status === "failed" || r.status === "cancelled") tr.className = "is-failed";
      var domain = cell(tr, r.domain);
      if (high) { domain.appendChild(document.createTextNode(" ")); domain.appendChild(badge("match", "completed")); }
      cell(tr, "").appendChild(badge(r.status, r.status));
      cell(tr, done ? String(r.confidence) : "");
      cell(tr, (r.technologies || []).join(", "));
      var evidence = cell(tr, "");
      (r.evidence || []).slice(0, 5).forEach(function (e) {
        var url = safeURL(e.url);
        if (!url) return;
        var a = document.createElement("a");
        a.href = url;
        a.rel = "noopener noreferrer nofollow";
        a.target = "_blank";
        a.textContent = e.title || new URL(url).host;
        evidence.appendChild(a);
        evidence.appendChild(document.createTextNode(" "));
      });
      cell(tr, r.summary || r.error || "");
      tbody.appendChild(tr);
    });
    var total = doc.results.length;
    progress.value = total ? Math.floor(finished * 100 / total) : 0;
    progressText.textContent = finished + " of " + total + " domains researched";
    var status = document.getElementById("batch-status");
    status.textContent = doc.status;
    status.className = "badge badge--" + doc.status;
  }

  var pending = false;
  function refresh() {
    if (pending) return;
    pending = true;
    fetch("/research/batch/" + encodeURIComponent(id), { headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (doc) { pending = false; if (doc) render(doc); })
      .catch(function () { pending = false; });
  }

  var sortButton = document.getElementById("sort-confidence");
  if (sortButton) {
    sortButton.addEventListener("click", function () {
      descending = !descending;
      sortButton.parentNode.setAttribute("aria-sort", descending ? "descending" : "ascending");
      refresh();
    });
  }

  if (root.getAttribute("data-running") !== "true" || !window.EventSource) return;
  var source = new EventSource("/research/batch/" + encodeURIComponent(id) + "/events");
  var timer = setInterval(refresh, 2000);
  source.addEventListener("evidence_progress", function (event) {
    var data = JSON.parse(event.data);
    progress.value = data.progress;
    refresh();
  });
  ["domain_analyzed", "error"].forEach(function (name) {
    source.addEventListener(name, function (event) {
      if (name === "error" && event.data) {
        live.textContent = JSON.parse(event.data).message;
      }
      refresh();
    });
  });
  function finish(message) {
    source.close();
    clearInterval(timer);
    live.textContent = message;
    window.location.reload();
  }
  source.addEventListener("completed", function () { finish("Finished."); });
  source.addEventListener("stream_error", function (event) {
    finish(event.data ? JSON.parse(event.data).error : "The batch failed.");
  });
})();

// As-you-type feedback for the research form (progressive enhancement: the form works without it).
// Asks POST /api/v1/validate after the visitor pauses, and shows the answer in the form's aria-live status
// element with textContent only. Field messages from the server are shown next to the fields on submit;
// this script never blocks submitting. The form's CSRF token is fetched by csrf-form.js.
(function () {
  "use strict";
  var form = document.querySelector("form.research-form");
  var status = document.getElementById("research-form-status");
  if (!form || !status || !window.fetch || !window.JSON) { return; }

  var industry = form.elements.namedItem("industry");
  var region = form.elements.namedItem("region");
  var focus = form.elements.namedItem("focus");
  if (!industry) { return; }

  var DELAY_MS = 700;
  var timer = null;
  var sequence = 0;
  var lastSent = "";
  var controller = null;

  function value(element) { return element ? element.value.trim() : ""; }

  function show(text, state) {
    status.textContent = text;
    status.classList.remove("form-status-ok", "form-status-error", "form-status-pending");
    if (state) { status.classList.add("form-status-" + state); }
  }

  function check() {
    var payload = { industry: value(industry), region: value(region), focus: value(focus) };
    var key = JSON.stringify(payload);
    if (payload.industry.length < 2) { lastSent = ""; show("", null); return; }
    if (key === lastSent) { return; }
    lastSent = key;
    var mine = ++sequence;
    if (controller && controller.abort) { controller.abort(); }
    controller = window.AbortController ? new AbortController() : null;
    show("Checking…", "pending");
    fetch("/api/v1/validate", {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: key,
      credentials: "same-origin",
      signal: controller ? controller.signal : undefined
    }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, body: body }; });
    }).then(function (result) {
      if (mine !== sequence) { return; }
      var body = result.body || {};
      if (result.ok && typeof body.valid === "boolean") {
        show(String(body.message || ""), body.valid ? "ok" : "error");
      } else if (body.error && body.error.message) {
        // Unavailable or rate-limited: say so, but the form can still be sent.
        lastSent = "";
        show(String(body.error.message), null);
      } else {
        lastSent = "";
        show("", null);
      }
    }).catch(function () {
      if (mine === sequence) { lastSent = ""; show("", null); }
    });
  }

  function schedule() {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(check, DELAY_MS);
  }

  [industry, region, focus].forEach(function (element) {
    if (element) {
      element.addEventListener("input", schedule);
      element.addEventListener("blur", function () { if (timer) { clearTimeout(timer); } check(); });
    }
  });
})();

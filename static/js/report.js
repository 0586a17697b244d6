// Report page enhancements (progressive: without JavaScript the permalink, download link and the browser's own
// print still work). Loaded with `defer` from /static (CSP: script-src 'self'); never writes HTML, only text.
(function () {
  "use strict";

  var status = document.querySelector(".copy-status");

  function say(text) {
    if (status) {
      status.textContent = text;
      window.setTimeout(function () { status.textContent = ""; }, 4000);
    }
  }

  var copy = document.querySelector("[data-copy-link]");
  if (copy && navigator.clipboard && window.isSecureContext) {
    copy.hidden = false;
    copy.addEventListener("click", function () {
      var link = copy.getAttribute("data-copy-link") || window.location.href;
      navigator.clipboard.writeText(link).then(
        function () { say("Link copied to the clipboard."); },
        function () { say("Could not copy: use the permalink instead."); }
      );
    });
  }

  var print = document.querySelector("[data-print]");
  if (print && typeof window.print === "function") {
    print.hidden = false;
    print.addEventListener("click", function () { window.print(); });
  }
})();

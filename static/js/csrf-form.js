// CSRF tokens for forms on pages that are the same for everyone (cached by nginx, so they carry no token):
// the research form on the home page and the refresh button on report pages, each marked data-csrf-fetch.
// The first time such a form is used this script asks GET /csrf-token (which sets the cookie) and fills the
// hidden csrf_token field. A submit before the token has arrived waits for it; if it cannot be had, the form is
// sent anyway and the server answers with the form again carrying a token ("please submit again"), exactly as
// without JavaScript.
(function () {
  "use strict";
  if (!window.fetch) { return; }
  var pending = null;

  function fetchToken(field) {
    if (field.value) { return Promise.resolve(); }
    if (!pending) {
      pending = fetch("/csrf-token", { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) { return response.ok ? response.json() : {}; })
        .then(function (body) {
          if (body && typeof body.csrf_token === "string") {
            document.querySelectorAll("form[data-csrf-fetch] input[name=csrf_token]").forEach(function (input) {
              if (!input.value) { input.value = body.csrf_token; }
            });
          }
        })
        .catch(function () {})
        .then(function () { pending = null; });
    }
    return pending;
  }

  document.querySelectorAll("form[data-csrf-fetch]").forEach(function (form) {
    var field = form.elements.namedItem("csrf_token");
    if (!field) { return; }
    form.addEventListener("focusin", function () { fetchToken(field); });
    form.addEventListener("submit", function (event) {
      if (field.value) { return; }
      event.preventDefault();
      fetchToken(field).then(function () { form.submit(); });
    });
  });
})();

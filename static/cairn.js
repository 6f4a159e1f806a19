// Cairn's only script of its own (no inline scripts: the pages run under a
// strict Content-Security-Policy). It hands the session's CSRF token, from
// the page's <meta name="csrf-token">, to every htmx request as a header.
(function () {
  "use strict";
  document.addEventListener("htmx:configRequest", function (event) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) {
      event.detail.headers["X-CSRF-Token"] = meta.content;
    }
  });
})();

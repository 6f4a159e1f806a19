// The management pages' script (loaded by views/admin pages only; no inline
// scripts). It asks before destructive actions, lets htmx swap a form
// re-rendered with its errors (422), shows any other refused htmx request as
// a page, and shows upload progress (copy buttons are cairn.js's).
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    var msg = button && button.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    if (status === 422) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    } else if (status >= 400) {
      event.detail.shouldSwap = false;
      var doc = new DOMParser().parseFromString(event.detail.xhr.responseText, "text/html");
      document.title = doc.title;
      document.body.replaceWith(document.adoptNode(doc.body));
    }
  });
  document.addEventListener("htmx:xhr:progress", function (event) {
    var form = event.target.closest && event.target.closest("form");
    var bar = form && form.querySelector("progress.upload");
    if (bar && event.detail.lengthComputable) {
      bar.hidden = false;
      bar.value = Math.round(event.detail.loaded * 100 / event.detail.total);
    }
  });
})();

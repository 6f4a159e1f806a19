// Cairn's only script of its own (no inline scripts: the pages run under a
// strict Content-Security-Policy). Pages work without it; it adds:
//   - the session's CSRF token (from <meta name="csrf-token">) on every htmx
//     request, as a header;
//   - copy buttons on code blocks (button[data-copy] names the <pre>);
//   - the version picker switching version on change (select[data-autosubmit]);
//   - the search box showing the query of a page restored from history.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  document.addEventListener("htmx:configRequest", function (event) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) {
      event.detail.headers["X-CSRF-Token"] = meta.content;
    }
  });

  function enhance(root) {
    root.querySelectorAll("button[data-copy]").forEach(function (b) {
      b.hidden = false;
    });
  }
  document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  document.addEventListener("htmx:load", function (event) { enhance(event.detail.elt); });

  function copied(button, ok) {
    button.textContent = ok ? "Copied" : "Copy failed";
    button.classList.toggle("done", ok);
    button.dataset.copied = ok ? "true" : "false";
    setTimeout(function () {
      button.textContent = "Copy";
      button.classList.remove("done");
    }, 2000);
  }

  function fallbackCopy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "visually-hidden";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    area.remove();
    return ok;
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-copy]");
    if (!button) {
      return;
    }
    var source = document.getElementById(button.dataset.copy);
    if (!source) {
      return;
    }
    var text = source.textContent;
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { copied(button, true); },
        function () { copied(button, fallbackCopy(text)); });
    } else {
      copied(button, fallbackCopy(text));
    }
  });

  document.addEventListener("change", function (event) {
    var select = event.target.closest("select[data-autosubmit]");
    if (select && select.form) {
      select.form.requestSubmit();
    }
  });

  document.addEventListener("htmx:historyRestore", function () {
    var q = document.querySelector('input[name="q"]');
    if (q) {
      q.value = new URLSearchParams(location.search).get("q") || "";
    }
  });
})();

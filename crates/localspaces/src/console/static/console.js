// localspaces console: keeps live parts of a page fresh. Every element with data-poll
// gets its URL's JSON ({rows, summary}) every 1.5 s (or every data-poll-every ms); .poll-body
// takes the HTML and the aria-live .poll-live the summary, only when they changed (so screen
// readers hear changes).
(function () {
  "use strict";
  function poll(el) {
    var url = el.getAttribute("data-poll");
    var body = el.querySelector(".poll-body");
    var live = el.querySelector(".poll-live");
    var last = null;
    var busy = false;
    function tick() {
      if (busy || document.hidden) return;
      busy = true;
      fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data) return;
          if (body && typeof data.rows === "string" && data.rows !== last) {
            // Keep the rows the user selected (bulk actions) across the refresh.
            var checked = {};
            var boxes = body.querySelectorAll("input[type=checkbox]:checked");
            for (var i = 0; i < boxes.length; i++) checked[boxes[i].value] = true;
            body.innerHTML = data.rows;
            last = data.rows;
            boxes = body.querySelectorAll("input[type=checkbox]");
            for (var j = 0; j < boxes.length; j++) if (checked[boxes[j].value]) boxes[j].checked = true;
          }
          if (live && typeof data.summary === "string" && live.textContent !== data.summary) {
            live.textContent = data.summary;
          }
        })
        .catch(function () {})
        .then(function () { busy = false; });
    }
    setInterval(tick, parseInt(el.getAttribute("data-poll-every") || "1500", 10));
  }
  // A file input with data-fill="ID" copies the chosen file's text into the textarea ID
  // (saved environments; pasting works without JavaScript).
  function fill(input) {
    input.addEventListener("change", function () {
      var target = document.getElementById(input.getAttribute("data-fill"));
      var file = input.files && input.files[0];
      if (!target || !file) return;
      file.text().then(function (t) { target.value = t; });
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var els = document.querySelectorAll("[data-poll]");
    for (var i = 0; i < els.length; i++) poll(els[i]);
    var fills = document.querySelectorAll("[data-fill]");
    for (var j = 0; j < fills.length; j++) fill(fills[j]);
  });
})();

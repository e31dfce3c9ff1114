/* Citizen portal: progressive enhancement only; every page works without it.
 * - the error summary gets focus on load; its links move focus to the field
 *   (and scroll its label or legend into view);
 * - the status page asks /antrag/<id>/status.json for changes and replaces the status
 *   region without a reload, announcing the change to screen readers. */
(function () {
  "use strict";
  document.documentElement.classList.add("js-enabled");

  function labelFor(input) {
    var fieldset = input.closest("fieldset");
    if (fieldset && input.type === "radio") {
      var legend = fieldset.querySelector("legend");
      if (legend) { return legend; }
    }
    var labels = input.labels;
    return labels && labels.length ? labels[0] : input;
  }

  function focusField(id) {
    var input = document.getElementById(id);
    if (!input || typeof input.focus !== "function") { return false; }
    labelFor(input).scrollIntoView();
    input.focus({ preventScroll: true });
    return document.activeElement === input;
  }

  function initErrorSummary() {
    var summary = document.querySelector("[data-error-summary]");
    if (!summary) { return; }
    summary.focus();
    summary.addEventListener("click", function (event) {
      var link = event.target.closest("a[data-target]");
      if (!link || (link.getAttribute("href") || "").charAt(0) !== "#") { return; }
      if (focusField(link.getAttribute("data-target"))) { event.preventDefault(); }
    });
  }

  function hasChosenFile(region) {
    var inputs = region.querySelectorAll("input[type=file]");
    for (var i = 0; i < inputs.length; i += 1) {
      if (inputs[i].files && inputs[i].files.length) { return true; }
    }
    return false;
  }

  function initStatus() {
    var region = document.getElementById("status-region");
    if (!region || !window.fetch) { return; }
    var url = region.getAttribute("data-status-url");
    var interval = (parseInt(region.getAttribute("data-interval"), 10) || 3) * 1000;
    var announcer = document.getElementById("status-announcer");
    var delay = interval;

    function schedule() { window.setTimeout(poll, delay); }

    function update(data) {
      if (data.fingerprint === region.getAttribute("data-fingerprint")) { return; }
      if (hasChosenFile(region)) { return; } /* never throw away a file being handed in */
      region.innerHTML = data.html;
      region.setAttribute("data-fingerprint", data.fingerprint);
      if (announcer) {
        var current = region.querySelector(".status-current");
        announcer.textContent = data.announcement + " " + (current ? current.textContent.trim() : "");
      }
    }

    function poll() {
      if (region.getAttribute("data-final") === "true") { return; }
      window.fetch(url, {
        credentials: "same-origin",
        cache: "no-store",
        headers: { "Accept": "application/json" }
      }).then(function (response) {
        if (response.status === 404) { return null; } /* access gone: stop asking */
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.json();
      }).then(function (data) {
        if (!data) { return; }
        delay = interval;
        update(data);
        region.setAttribute("data-final", data.final ? "true" : "false");
        if (!data.final) { schedule(); }
      }).catch(function () {
        delay = Math.min(delay * 2, 60000);
        schedule();
      });
    }

    schedule();
  }

  initErrorSummary();
  initStatus();
}());

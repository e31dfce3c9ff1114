/* Back office: keyboard shortcuts, and a warning before the idle sign-out.

   Shortcuts: Alt (or Alt+Shift) with a letter activates the element that carries
   data-shortcut="<letter>" (listed on the case page): a radio button is chosen, a field
   gets the focus, a disclosure opens, a link or button is followed. A modifier is always
   needed, so typing never triggers one (WCAG 2.1.4). */
(function () {
  "use strict";
  document.addEventListener("keydown", function (event) {
    if (!event.altKey || event.ctrlKey || event.metaKey || event.key.length !== 1) { return; }
    var letter = event.code && event.code.indexOf("Key") === 0
      ? event.code.slice(3).toLowerCase() : event.key.toLowerCase();
    var target = document.querySelector('[data-shortcut="' + letter + '"]');
    if (!target) { return; }
    event.preventDefault();
    if (target.tagName === "INPUT" && target.type === "radio") {
      target.checked = true;
      target.focus();
    } else if (target.tagName === "SUMMARY") {
      if (!target.parentElement.open) { target.click(); }
      var field = target.parentElement.querySelector("input[type=text], select, textarea");
      (field || target).focus();
    } else if (target.tagName === "A" || target.tagName === "BUTTON") {
      target.click();
    } else {
      target.focus();
    }
  });
}());

/* Idle warning.
   No inline script (CSP); everything is read from data attributes of #idle-warning.
   The server signs out after SERVICEPOINT_SESSION_IDLE_MINUTES without a request; this
   script shows the warning two minutes before and goes to the sign-in page when the time
   is up, so nobody types into a page whose session has already ended. */
(function () {
  "use strict";
  var box = document.getElementById("idle-warning");
  if (!box) { return; }
  var idle = parseInt(box.getAttribute("data-idle-seconds"), 10) || 1800;
  var warnBefore = Math.min(parseInt(box.getAttribute("data-warn-seconds"), 10) || 120, idle / 2);
  var slack = Math.min(60, idle / 4); // the server records activity at most once a minute
  var keepAliveUrl = box.getAttribute("data-keepalive-url");
  var signInUrl = box.getAttribute("data-sign-in-url");
  var stay = box.querySelector("[data-idle-stay]");
  var warnTimer = null;
  var endTimer = null;
  var lastFocus = null;

  function schedule() {
    window.clearTimeout(warnTimer);
    window.clearTimeout(endTimer);
    var end = (idle - slack) * 1000;
    warnTimer = window.setTimeout(showWarning, Math.max(0, end - warnBefore * 1000));
    endTimer = window.setTimeout(function () {
      window.location.assign(signInUrl);
    }, end + slack * 1000);
  }

  function showWarning() {
    lastFocus = document.activeElement;
    box.hidden = false;
    stay.focus();
  }

  function hideWarning() {
    box.hidden = true;
    if (lastFocus && typeof lastFocus.focus === "function") { lastFocus.focus(); }
  }

  stay.addEventListener("click", function () {
    fetch(keepAliveUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (response.ok) { hideWarning(); schedule(); } else { window.location.assign(signInUrl); }
      })
      .catch(function () { hideWarning(); schedule(); });
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && !box.hidden) { stay.click(); }
  });

  schedule();
}());

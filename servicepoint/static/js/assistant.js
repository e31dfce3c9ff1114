/* Citizen assistant: progressive enhancement of its forms (the /assistent page and the
 * panel on every portal page). Without this script the forms GET /assistent and the
 * server renders the answer. With it, the answer is fetched from /assistent/antwort (the
 * same server-rendered, escaped markup) and put into the form's live region, which
 * screen readers announce; focus stays in the question field. */
(function () {
  "use strict";

  function resultFor(form) {
    var scope = form.closest(".assistant-panel") || document;
    return scope.querySelector("[data-assistant-result]");
  }

  function ask(form, event) {
    var field = form.querySelector("[name=q]");
    var result = resultFor(form);
    if (!field || !result || !window.fetch) { return; }
    var question = field.value;
    if (!question.trim()) { return; }
    event.preventDefault();
    var params = new URLSearchParams();
    params.set("q", question);
    var choice = form.querySelector("[name=lang]");
    var lang = choice ? choice.value : form.getAttribute("data-lang");
    if (lang) { params.set("lang", lang); }
    params.set("prefix", form.closest(".assistant-panel") ? "panel" : "page");
    form.setAttribute("aria-busy", "true");
    fetch("/assistent/antwort?" + params.toString(), {
      headers: { "Accept": "text/html" },
      credentials: "same-origin"
    }).then(function (response) {
      return response.text().then(function (html) {
        return { ok: response.ok || response.status === 422 || response.status === 429, html: html };
      });
    }).then(function (reply) {
      form.removeAttribute("aria-busy");
      if (!reply.ok) { form.submit(); return; }
      result.innerHTML = reply.html; /* server-rendered with every value escaped */
      if (!form.closest(".assistant-panel") && window.history && window.history.replaceState) {
        window.history.replaceState(null, "", "/assistent?" + params.toString().replace(/&prefix=[a-z]+/, ""));
      }
    }).catch(function () {
      form.removeAttribute("aria-busy");
      form.submit();
    });
  }

  var forms = document.querySelectorAll("[data-assistant-form]");
  for (var i = 0; i < forms.length; i += 1) {
    forms[i].addEventListener("submit", ask.bind(null, forms[i]));
  }
}());

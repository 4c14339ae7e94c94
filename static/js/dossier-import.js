// Dossier import: instead of one long request, ask the server to import the next chunk of rows until the file
// is done, and show the progress. Without this script the form posts once and the server imports everything.
(function () {
  "use strict";
  var form = document.getElementById("import-form");
  if (!form || !window.fetch || !window.FormData) { return; }
  var box = document.getElementById("import-progress");
  var bar = document.getElementById("import-bar");
  var status = document.getElementById("import-status");
  var button = form.querySelector("button[type=submit]");

  function show(text) { status.textContent = text; }

  function progress(done, total) {
    var pct = total ? Math.floor(100 * done / total) : 100;
    var words = form.getAttribute("data-progress") || "{done} / {total} ({pct}%)";
    return words.replace("{done}", done).replace("{total}", total).replace("{pct}", pct);
  }

  function step(body) {
    return fetch(form.action, {
      method: "POST", body: body, credentials: "same-origin",
      headers: {"Accept": "application/json", "X-Requested-With": "fetch"}
    }).then(function (response) {
      if (!response.ok) { throw new Error(String(response.status)); }
      return response.json();
    }).then(function (state) {
      bar.max = state.total || 1;
      bar.value = state.done;
      show(progress(state.done, state.total));
      if (state.finished) { window.location.assign(state.result_url); return null; }
      return step(body);
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    button.disabled = true;
    box.hidden = false;
    show(progress(0, Number(form.getAttribute("data-total")) || 0));
    var body = new FormData(form);
    body.append("chunk", "1");
    step(body).catch(function () {
      // The rows imported so far are saved; posting the form again continues from where it stopped.
      button.disabled = false;
      show(form.getAttribute("data-error") || "Lỗi");
    });
  });
}());

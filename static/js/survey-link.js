// The one-time survey link (/s/<token>): every change is saved as a draft, so a reload or a later visit resumes.
// Without script the page still works: "Lưu và tiếp tục sau" posts the same form to the same address.
(function () {
  "use strict";
  var form = document.getElementById("survey");
  var status = document.getElementById("autosave");
  if (!form || !form.dataset.save || !window.fetch || !window.FormData) return;
  var timer = null;
  var inFlight = false;
  var again = false;

  function save() {
    if (inFlight) { again = true; return; }
    inFlight = true;
    var data = new FormData(form);
    fetch(form.dataset.save, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: {"Accept": "application/json", "X-CSRFToken": data.get("csrf_token") || ""}
    }).then(function (response) {
      if (status) status.textContent = response.ok ? status.dataset.saved : status.dataset.failed;
    }).catch(function () {
      if (status) status.textContent = status.dataset.failed;
    }).then(function () {
      inFlight = false;
      if (again) { again = false; save(); }
    });
  }

  function later(delay) {
    if (timer) clearTimeout(timer);
    timer = setTimeout(save, delay);
  }

  form.addEventListener("change", function () { later(300); });
  form.addEventListener("input", function (event) {
    if (event.target && event.target.tagName === "TEXTAREA") later(1500);
  });
})();

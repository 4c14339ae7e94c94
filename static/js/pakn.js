/* The PAKN form: say as the sender types whether their details make it a PAKN under the law or an anonymous
   góp ý (the page says the same in words for browsers without script). */
(function () {
  "use strict";
  var note = document.getElementById("anon-live");
  if (!note) return;
  var fields = ["name", "address", "phone"].map(function (id) { return document.getElementById(id); });
  function update() {
    note.hidden = fields.every(function (f) { return f && f.value.trim() !== ""; });
  }
  fields.forEach(function (f) { if (f) f.addEventListener("input", update); });
  update();
})();

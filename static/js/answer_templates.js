// The PAKN answer form: put the chosen answer template into the draft (asking first when text is there).
(function () {
  var pick = document.getElementById("answer-template");
  var text = document.getElementById("answer_text");
  var script = document.currentScript || document.querySelector("script[data-confirm]");
  if (!pick || !text) return;
  pick.addEventListener("change", function () {
    var body = pick.options[pick.selectedIndex].getAttribute("data-body");
    if (body && (!text.value.trim() || window.confirm(script.getAttribute("data-confirm")))) text.value = body;
  });
})();

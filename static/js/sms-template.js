// The invitation template editor (/admin/sms): the segment count of the text as it would be sent, while typing.
// The same arithmetic as feedback_app/sms/segments.py (GSM-7 160/153 with extension characters counted twice,
// UCS-2 70/67 in UTF-16 units); the page shows the server's own count after saving.
(function () {
  "use strict";
  var area = document.getElementById("invitation_template");
  var out = document.getElementById("tpl-count");
  var fallback = document.getElementById("tpl-default");
  var asciiSelect = document.getElementById("ascii_only");
  var brandInput = document.getElementById("sender_name");
  if (!area || !out) return;
  var BASIC = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿" +
              "abcdefghijklmnopqrstuvwxyzäöñüà";
  var EXT = "^{}\\[~]|€\f";
  var SPECIAL = {"đ": "d", "Đ": "D"};

  function isGsm(text) {
    for (var i = 0; i < text.length; i++) {
      var ch = text.charAt(i);
      if (BASIC.indexOf(ch) < 0 && EXT.indexOf(ch) < 0) return false;
    }
    return true;
  }

  function strip(text) {
    var plain = text.replace(/[đĐ]/g, function (c) { return SPECIAL[c]; }).normalize("NFD")
      .replace(/[\u0300-\u036f]/g, "");
    var out = "";
    for (var i = 0; i < plain.length; i++) {
      var ch = plain.charAt(i);
      out += (BASIC.indexOf(ch) >= 0 || EXT.indexOf(ch) >= 0) ? ch : "?";
    }
    return out;
  }

  function count(text) {
    var gsm = isGsm(text);
    var single = gsm ? 160 : 70, part = gsm ? 153 : 67;
    var sizes = [];
    if (gsm) {
      for (var i = 0; i < text.length; i++) sizes.push(EXT.indexOf(text.charAt(i)) >= 0 ? 2 : 1);
    } else {
      for (var cp of text) sizes.push(cp.length);  // a character outside the BMP is two UTF-16 units
    }
    var units = sizes.reduce(function (a, b) { return a + b; }, 0);
    if (units === 0) return {gsm: gsm, units: 0, segments: 0};
    if (units <= single) return {gsm: gsm, units: units, segments: 1};
    var segments = 1, used = 0;
    sizes.forEach(function (size) {
      if (used + size > part) { segments += 1; used = 0; }
      used += size;
    });
    return {gsm: gsm, units: units, segments: segments};
  }

  function render() {
    var text = area.value.trim() || (fallback ? fallback.textContent : "");
    var brand = brandInput && brandInput.value.trim() ? brandInput.value.trim() : out.dataset.brand;
    var values = {agency: out.dataset.agency, link: out.dataset.link, reply: out.dataset.reply,
                  stop: out.dataset.stop, days: out.dataset.days, brand: brand};
    var hasBrand = text.indexOf("{brand}") >= 0;
    Object.keys(values).forEach(function (name) { text = text.split("{" + name + "}").join(values[name] || ""); });
    if (brand && !hasBrand) text = brand + ": " + text;
    text = text.replace(/[ \t]{2,}/g, " ").trim();
    var ascii = asciiSelect && asciiSelect.value ? asciiSelect.value === "1" : out.dataset.ascii === "1";
    if (ascii) text = strip(text);
    var result = count(text);
    var words = result.gsm ? out.dataset.textGsm : out.dataset.textUcs;
    out.textContent = words.replace("{chars}", result.units).replace("{n}", result.segments);
    out.classList.toggle("err", result.segments > Number(out.dataset.warn || 3));
  }

  area.addEventListener("input", render);
  if (asciiSelect) asciiSelect.addEventListener("change", render);
  if (brandInput) brandInput.addEventListener("input", render);
  render();
})();

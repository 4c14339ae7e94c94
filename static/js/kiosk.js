/* Kiosk: one step at a time, resets after submit and idle time, queues responses through network drops
   and sends each exactly once (its idempotency key travels with it). */
(function () {
  "use strict";
  var form = document.getElementById("kiosk");
  if (!form) return;
  var d = form.dataset;
  var steps = Array.prototype.slice.call(form.querySelectorAll(".step"));
  var nav = form.querySelector(".steps-nav");
  var progress = nav.querySelector("progress");
  var progressText = nav.querySelector(".progress-text");
  var nextBtn = nav.querySelector("[data-next]");
  var submitBtn = nav.querySelector("[data-submit]");
  var stepErr = form.querySelector(".step-err");
  var thanks = document.getElementById("kiosk-thanks");
  var statusEl = document.getElementById("kiosk-status");
  var queueName = "kioskQueue:" + d.counter;
  var token = d.csrf, tokenAt = Date.now();
  var current = 0, idleTimer = null, sending = false, stale = false;
  var TOKEN_MAX_AGE = 20 * 60 * 1000;
  // The token request is also the device's heartbeat: it tells the server how many responses still wait
  // here, which bounds the completion times they may later claim.
  var HEARTBEAT = 2 * 60 * 1000;
  var draftName = "kioskDraft:" + d.counter;

  function show(i) {
    current = i;
    steps.forEach(function (s, k) { s.hidden = k !== i; });
    nav.hidden = i === 0;
    progress.value = i;
    progressText.textContent = i + " / " + (steps.length - 1);
    var last = i === steps.length - 1;
    nextBtn.hidden = last;
    submitBtn.hidden = !last;
    stepErr.hidden = true;
    window.scrollTo(0, 0);
    var heading = steps[i].querySelector("h1, h2");
    if (heading) { heading.tabIndex = -1; heading.focus(); }
  }

  function missingInStep(step) {
    var bad = [];
    step.querySelectorAll("fieldset[data-required]").forEach(function (fs) {
      if (fs.closest(".gated[hidden]")) return;  // a question the citizen screened out ("Không") is not asked
      var ok = fs.querySelector("input:checked");
      fs.classList.toggle("has-err", !ok);
      if (!ok) bad.push(fs);
    });
    return bad;
  }

  function tooMany(step) {
    var over = null;
    step.querySelectorAll("fieldset[data-max]").forEach(function (fs) {
      var max = parseInt(fs.dataset.max, 10);
      if (max && fs.querySelectorAll("input:checked").length > max) over = max;
    });
    return over;
  }

  function stepValid() {
    var step = steps[current];
    var bad = missingInStep(step);
    if (bad.length) {
      stepErr.textContent = d.msgRequired;
      stepErr.hidden = false;
      bad[0].scrollIntoView({ block: "center" });
      return false;
    }
    var max = tooMany(step);
    if (max) {
      stepErr.textContent = d.msgMax.replace("{n}", max);
      stepErr.hidden = false;
      return false;
    }
    stepErr.hidden = true;
    return true;
  }

  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID().replace(/-/g, "");
    var a = new Uint8Array(16);
    crypto.getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function collect() {
    var answers = {}, payload = { key: newKey(), version_id: parseInt(d.version, 10), lang: d.lang,
      completed_at: new Date().toISOString(), answers: answers };
    new FormData(form).forEach(function (value, name) {
      if (name === "officer" || name === "service") { if (value) payload[name] = value; return; }
      if (!/^q\d+$/.test(name) || value === "") return;
      if (answers[name] === undefined) answers[name] = value;
      else answers[name] = [].concat(answers[name], value);
    });
    // The expectations question is multiple choice: always send a list.
    form.querySelectorAll("fieldset[data-max]").forEach(function (fs) {
      var name = fs.id;
      if (answers[name] !== undefined) answers[name] = [].concat(answers[name]);
    });
    // The questions of a factor the citizen screened out ("Không") are not sent.
    form.querySelectorAll(".screen input[value='0']:checked").forEach(function (no) {
      var gated = no.closest(".step").querySelector(".gated");
      if (gated) gated.querySelectorAll("fieldset").forEach(function (fs) { delete answers[fs.id]; });
    });
    return payload;
  }

  var storageOk = true;
  function readQueue() {
    // Once the device's storage refused a write, the queue in memory is the true one.
    if (!storageOk) return memoryQueue.slice();
    try { return JSON.parse(localStorage.getItem(queueName) || "[]"); } catch (e) { return memoryQueue.slice(); }
  }
  function writeQueue(q) {
    memoryQueue = q;
    try { localStorage.setItem(queueName, JSON.stringify(q)); } catch (e) { storageOk = false; }
    showStatus();
  }
  var memoryQueue = [];
  memoryQueue = readQueue();
  // Responses an older version of this page put aside as refused go out again: the server now keeps what
  // it cannot take, for staff to see, instead of leaving it on the device.
  // Only a registered kiosk's refused responses are kept by the server; each goes out again once.
  try {
    var putAside = JSON.parse(localStorage.getItem(queueName + ":rejected") || "[]");
    var again = putAside.filter(function (x) { return !x.resent; });
    if (d.registered === "1" && again.length) {
      var keep = putAside.filter(function (x) { return x.resent; });  // sent once already: they stay here
      again.forEach(function (x) { x.resent = true; });
      localStorage.setItem(queueName + ":rejected", JSON.stringify(keep));
      writeQueue(memoryQueue.concat(again));
    }
  } catch (e) { /* unreadable: left as it is */ }

  function showStatus() {
    var n = memoryQueue.length;
    statusEl.hidden = n === 0;
    statusEl.textContent = d.msgPending.replace("{n}", n);
  }

  function refreshToken() {
    var url = d.tokenUrl + "?pending=" + memoryQueue.length;
    return fetch(url, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { if (!r.ok) throw new Error("token"); return r.json(); })
      .then(function (j) { token = j.csrf_token; tokenAt = Date.now(); });
  }

  function sendOne(item) {
    var ready = Date.now() - tokenAt > TOKEN_MAX_AGE ? refreshToken() : Promise.resolve();
    return ready.then(function () {
      return fetch(d.submitUrl, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": token },
        body: JSON.stringify(item)
      });
    }).then(function (r) {
      if (r.status === 200 || r.status === 201) return "done";
      if (r.status === 400 || r.status === 409) {
        return r.json().then(function (p) {
          if (p.title === "CSRF") { tokenAt = 0; return "retry"; }
          // The server could not take it as sent but kept it for staff: nothing is lost by dropping it here.
          if (p.kept) return r.status === 409 ? "stale-kept" : "done";
          return r.status === 409 ? "stale" : "rejected";
        }, function () { tokenAt = 0; return "retry"; });  // not JSON: a proxy page, most likely a stale token
      }
      if (r.status === 404) return "rejected";
      return "retry";
    });
  }

  function flush() {
    if (sending || memoryQueue.length === 0) return;
    sending = true;
    var item = memoryQueue[0];
    sendOne(item).then(function (outcome) {
      sending = false;
      if (outcome === "retry") {
        // To the back of the queue: one response the server keeps failing must not hold up the others.
        var queue = readQueue().filter(function (x) { return x.key !== item.key; });
        writeQueue(queue.concat([item]));
        setTimeout(flush, 15000);
        return;
      }
      if (outcome === "rejected" || outcome === "stale") {
        // Kept on the device for staff to look at; never silently dropped.
        var rejected = JSON.parse(localStorage.getItem(queueName + ":rejected") || "[]");
        rejected.push(item);
        try { localStorage.setItem(queueName + ":rejected", JSON.stringify(rejected)); } catch (e) { /* full */ }
      }
      writeQueue(readQueue().filter(function (x) { return x.key !== item.key; }));
      // This page names a questionnaire the server no longer takes: load the current one when idle.
      if (outcome === "stale" || outcome === "stale-kept") {
        stale = true;
        if (current === 0 && thanks.hidden) window.location.reload();
      }
      flush();
    }, function () { sending = false; setTimeout(flush, 15000); });
  }

  // Switching language reloads the page: the answers so far wait in sessionStorage and come back.
  function saveDraft() {
    var values = [];
    new FormData(form).forEach(function (value, name) { values.push([name, value]); });
    try {
      sessionStorage.setItem(draftName, JSON.stringify({ at: Date.now(), version: d.version, step: current,
        values: values }));
    } catch (e) { /* no storage: the citizen starts again in the other language */ }
  }

  function restoreDraft() {
    var draft = null;
    try { draft = JSON.parse(sessionStorage.getItem(draftName) || "null"); sessionStorage.removeItem(draftName); }
    catch (e) { return; }
    if (!draft || draft.version !== d.version || Date.now() - draft.at > 10 * 60 * 1000) return;
    draft.values.forEach(function (pair) {
      form.querySelectorAll("[name='" + pair[0] + "']").forEach(function (el) {
        if (el.type === "radio" || el.type === "checkbox") { if (el.value === pair[1]) el.checked = true; }
        else el.value = pair[1];
      });
    });
    applyScreening();
    show(Math.min(draft.step, steps.length - 1));
  }

  document.querySelectorAll(".langs a").forEach(function (a) {
    a.addEventListener("click", function () { if (current > 0) saveDraft(); });
  });

  function resetForm() {
    try { sessionStorage.removeItem(draftName); } catch (e) { /* nothing kept */ }
    // The next citizen starts in Vietnamese, whatever language the last one chose.
    if (d.lang !== "vi") { window.location.replace(d.vietnameseUrl); return; }
    if (stale) { window.location.reload(); return; }
    form.reset();
    applyScreening();
    form.querySelectorAll(".has-err").forEach(function (el) { el.classList.remove("has-err"); });
    thanks.hidden = true;
    form.hidden = false;
    show(0);
  }

  function armIdle() {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(function () { if (current !== 0 || !thanks.hidden || d.lang !== "vi") resetForm(); },
      parseInt(d.idleReset, 10) * 1000);
  }

  form.addEventListener("click", function (e) {
    var t = e.target.closest("[data-next], [data-back]");
    if (!t) return;
    if (t.hasAttribute("data-back")) { show(Math.max(0, current - 1)); return; }
    if (current === 0 || stepValid()) show(Math.min(steps.length - 1, current + 1));
  });

  // "Không" to a screening question hides its factor's questions (by script: tablets' older browsers lack
  // the CSS :has() that does it on the phone page).
  function applyScreening() {
    form.querySelectorAll(".gated").forEach(function (gated) {
      gated.hidden = !!gated.closest(".step").querySelector(".screen input[value='0']:checked");
    });
  }

  form.addEventListener("change", function (e) {
    if (e.target.closest(".screen")) applyScreening();
    var fs = e.target.closest("fieldset");
    if (fs) fs.classList.remove("has-err");
    // Once the step is complete again, the message about it no longer applies.
    var step = steps[current];
    if (!stepErr.hidden && !step.querySelector("fieldset.has-err") && !tooMany(step)) stepErr.hidden = true;
  });

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    if (!stepValid()) return;
    var item = collect();
    writeQueue(readQueue().concat([item]));
    form.hidden = true;
    thanks.hidden = false;
    flush();
    // The next citizen may start only after the configured gap.
    setTimeout(resetForm, Math.max(5, parseInt(d.minGap, 10)) * 1000);
  });

  ["click", "touchstart", "keydown", "change"].forEach(function (ev) {
    document.addEventListener(ev, armIdle, { passive: true });
  });
  window.addEventListener("online", flush);
  // Back-forward cache must never bring back the previous citizen's answers.
  window.addEventListener("pageshow", function (e) { if (e.persisted) resetForm(); });
  setInterval(function () { refreshToken().then(flush, function () {}); }, HEARTBEAT);
  setInterval(flush, 30000);
  show(0);
  restoreDraft();
  showStatus();
  flush();
  armIdle();
})();

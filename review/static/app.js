// Reupload Radar: keyboard shortcuts, the blurred candidate image and reveal, clocks.
// No inline scripts (the Content-Security-Policy forbids them) and no third-party code.
(function () {
  "use strict";
  const csrf = document.body.dataset.csrf || "";
  const $ = (s) => document.querySelector(s);

  // -- the menu below 960 px: a disclosure (without JavaScript nojs.css shows it wrapped) -
  // The CSS reads the state from aria-expanded, so what is announced is what is shown.
  const menuToggle = $("#menu-toggle");
  const menu = $("#menu");
  if (menuToggle && menu) {
    const isOpen = () => menuToggle.getAttribute("aria-expanded") === "true";
    const setOpen = (open) => menuToggle.setAttribute("aria-expanded", open ? "true" : "false");
    menuToggle.addEventListener("click", () => setOpen(!isOpen()));
    document.addEventListener("keydown", (ev) => {
      if (ev.key !== "Escape" || !isOpen()) return;
      const inside = menu.contains(document.activeElement);
      setOpen(false);
      if (inside) menuToggle.focus();  // focus must not stay on a link that vanished
    });
    document.addEventListener("click", (ev) => {
      if (isOpen() && !menu.contains(ev.target) && !menuToggle.contains(ev.target)) setOpen(false);
    });
  }

  // -- a control focused in a sideways-scrolling table comes wholly into view -----------
  // (Chromium leaves a half-visible one where it is); scroll-padding keeps its ring clear.
  document.querySelectorAll(".table-scroll").forEach((region) => region.addEventListener("focusin", (ev) => {
    if (ev.target !== region) ev.target.scrollIntoView({ block: "nearest", inline: "nearest" });
  }));

  // -- candidate image: fetched through the proxy, state from its headers --------------
  const img = $("#candidate");
  const live = $("#live");
  const veil = $("#veil");
  let objectUrl = null;
  // Keyboard decisions wait until the analyst can see the candidate: a key pressed while
  // it loads (a double press from the previous hit) must not decide this one unseen.
  let ready = false;
  async function load(url, revealed) {
    if (!img) return;
    try {
      const res = await fetch(url, { credentials: "same-origin", cache: "no-store" });
      const state = res.headers.get("X-Radar-Live") || "error";
      const detail = res.headers.get("X-Radar-Detail") || "";
      const blob = await res.blob();
      if (objectUrl) URL.revokeObjectURL(objectUrl);
      objectUrl = URL.createObjectURL(blob);
      img.src = objectUrl;
      try { await img.decode(); } catch (e) { /* not a picture: the state below says why */ }
      if (live) {
        live.dataset.state = state;
        live.textContent = { present: "live: still online", changed: "live: different bytes now",
          gone: "gone: " + detail, error: "not reachable: " + detail }[state] || state;
      }
      ready = true;
      img.dataset.ready = "1";
      img.dataset.view = res.headers.get("X-Radar-View") || "blurred";
      img.alt = revealed ? "Candidate image, revealed" : "Candidate image, blurred";
      if (veil) {
        veil.textContent = revealed ? "Revealed: press h to blur again" : veil.dataset.text || veil.textContent;
        veil.classList.toggle("revealed", !!revealed);
      }
    } catch (e) {
      if (live) { live.dataset.state = "error"; live.textContent = "could not load"; }
    }
  }
  if (img) {
    if (veil) veil.dataset.text = veil.textContent;
    load(img.dataset.src, false);
  }
  const revealBtn = $("#reveal");
  let capped = !!(revealBtn && revealBtn.disabled);
  const hideBtn = $("#hide");
  async function reveal() {
    if (!revealBtn || revealBtn.disabled) return;
    revealBtn.disabled = true;
    const res = await fetch("/review/hits/" + revealBtn.dataset.hit + "/reveal", {
      method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": csrf } });
    const body = await res.json().catch(() => ({}));
    const msg = $("#reveal-msg");
    if (!res.ok) {
      if (msg) { msg.textContent = body.error || "Not allowed."; msg.classList.add("error"); }
      revealBtn.disabled = res.status === 429;  // the budget is spent: it stays off today
      return;
    }
    const count = $("#exposure-count");
    if (count) count.textContent = body.used;
    const bar = $("#exposure-bar");
    if (bar) bar.value = body.used;
    if (msg) msg.textContent = "Revealed " + body.used + " of " + body.budget + " today." +
      (body.used >= body.budget ? " That was the last reveal of today's budget." : "");
    capped = body.used >= body.budget;
    await load(body.url, true);
    revealBtn.hidden = true;
    if (hideBtn) hideBtn.hidden = false;
  }
  function hide() {
    if (!img || !hideBtn || hideBtn.hidden) return;
    load(img.dataset.src, false);
    hideBtn.hidden = true;
    revealBtn.hidden = false;
    revealBtn.disabled = capped;
  }
  if (revealBtn) revealBtn.addEventListener("click", reveal);
  if (hideBtn) hideBtn.addEventListener("click", hide);

  // -- reject dialog: a reason is required ------------------------------------------------
  const dialog = $("#reject-dialog");
  const rejectOpen = $("#reject-open");
  function openReject() {
    if (!dialog) return;
    dialog.showModal();
    const reason = $("#reject-reason");
    if (reason) reason.focus();
  }
  if (rejectOpen) rejectOpen.addEventListener("click", openReject);
  if (dialog) {
    dialog.querySelectorAll("[data-close]").forEach((b) => b.addEventListener("click", () => dialog.close()));
    $("#reject-form").addEventListener("submit", (ev) => {
      const chosen = dialog.querySelector("input[name=reason_choice]:checked");
      const text = $("#reject-reason").value.trim();
      if (!chosen && !text) { ev.preventDefault(); $("#reject-error").hidden = false; }
    });
    dialog.addEventListener("keydown", (ev) => {
      const n = parseInt(ev.key, 10);
      const radios = dialog.querySelectorAll("input[name=reason_choice]");
      if (n >= 1 && n <= radios.length && document.activeElement.tagName !== "INPUT") {
        radios[n - 1].checked = true; ev.preventDefault();
      } else if (n >= 1 && n <= radios.length && document.activeElement.id === "reject-reason" && !document.activeElement.value) {
        radios[n - 1].checked = true; ev.preventDefault();
      }
    });
  }

  // -- the claim ends when the analyst leaves the hit without deciding ------------------
  const actions = $("#actions");
  let submitting = false;
  document.querySelectorAll("form").forEach((f) => f.addEventListener("submit", (ev) => { if (!ev.defaultPrevented) submitting = true; }));
  window.addEventListener("pagehide", () => {
    if (!actions || submitting || !navigator.sendBeacon) return;  // a decision or skip releases it
    const data = new FormData();
    data.append("csrf", csrf);
    data.append("claimed_at", actions.dataset.claimed || "");
    navigator.sendBeacon(actions.dataset.release, data);
  });

  // -- keyboard shortcuts -------------------------------------------------------------------
  function click(sel) { const el = $(sel); if (el && !el.disabled) { el.click(); return true; } return false; }
  document.addEventListener("keydown", (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const tag = (ev.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select") return;
    if (document.querySelector("dialog[open]")) return;
    const key = ev.key;
    let done = false;
    if (ev.repeat && "crs".includes(key)) { ev.preventDefault(); return; }  // a held key decides nothing
    if ((key === "c" || key === "r") && img && !ready && $("#actions")) {
      const wait = $("#key-wait");
      if (wait) wait.hidden = false;
      ev.preventDefault();
      return;
    }
    if (key === "c") done = click("#confirm");
    else if (key === "r") { if (rejectOpen) { openReject(); done = true; } }
    else if (key === "s") done = click("#skip");
    else if (key === "v") { if (revealBtn && !revealBtn.hidden) { reveal(); done = true; } }
    else if (key === "h") { if (hideBtn && !hideBtn.hidden) { hide(); done = true; } }
    else if (key === "n") { const a = document.querySelector("[data-key=n]"); if (a) { a.click(); done = true; } }
    else if (key === "?") { const h = $("#help"); if (h) { h.showModal(); done = true; } }
    if (done) ev.preventDefault();
  });
  document.querySelectorAll("[data-help]").forEach((a) => a.addEventListener("click", (ev) => {
    ev.preventDefault(); $("#help").showModal(); }));

  // -- removal clocks (TAKE IT DOWN: 48 h from sending) ---------------------------------
  function tick() {
    document.querySelectorAll(".clock[data-deadline]").forEach((el) => {
      const left = Date.parse(el.dataset.deadline) - Date.now();
      const abs = Math.abs(left), h = Math.floor(abs / 3600e3), m = Math.floor((abs % 3600e3) / 60e3);
      el.textContent = left >= 0 ? `removal due in ${h} h ${m} min` : `overdue by ${h} h ${m} min`;
      el.classList.toggle("over", left < 0);
      el.title = "deadline " + el.dataset.deadline;
    });
  }
  tick(); setInterval(tick, 30000);
})();

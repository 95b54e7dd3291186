/* HabitPact Mini App glue: Telegram sign-in header, theme, BackButton, haptics,
   start_param routing, the phone's time zone, countdowns, sharing. No framework. */
(function () {
  "use strict";
  var tg = window.Telegram && window.Telegram.WebApp;
  var app = document.getElementById("app");
  var root = document.documentElement;

  function authorization() {
    if (tg && tg.initData) return "tma " + tg.initData;
    return sessionStorage.getItem("hp_auth") || "";
  }
  function phoneZone() {
    try {
      var zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
      return localStorage.getItem("hp_zone_dismissed") === zone ? "" : zone;
    } catch (e) { return ""; }
  }
  function addHeaders(set) {
    var auth = authorization();
    if (auth) set("Authorization", auth);
    var zone = phoneZone();
    if (zone) set("X-Timezone", zone);
  }

  // Every htmx request, and htmx's own history-restore request, carries the header.
  document.addEventListener("htmx:configRequest", function (e) {
    addHeaders(function (k, v) { e.detail.headers[k] = v; });
  });
  document.addEventListener("htmx:historyCacheMiss", function (e) {
    addHeaders(function (k, v) { e.detail.xhr.setRequestHeader(k, v); });
  });

  function haptic(kind) {
    if (!tg || !tg.HapticFeedback) return;
    if (kind === "impact") tg.HapticFeedback.impactOccurred("medium");
    else tg.HapticFeedback.notificationOccurred(kind);
  }
  var toastTimer;
  // Navigation a toast must never hide: the header bar and the screen's nav links.
  var NAV = ".bar, nav, .nav-buttons, .btn-create";
  function overlaps(a, b) {
    return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  }
  function coversNav(el) {
    var box = el.getBoundingClientRect();
    return Array.prototype.some.call(document.querySelectorAll(NAV), function (nav) {
      var r = nav.getBoundingClientRect();
      return r.height > 0 && overlaps(box, r);
    });
  }
  function placeToast(el) {
    // At the bottom unless that hides a nav link; then the first free spot from the
    // top, under the header bar.
    el.style.top = "";
    el.style.bottom = "";
    if (!coversNav(el)) return;
    var bar = app.querySelector(".bar");
    var y = Math.max(bar ? bar.getBoundingClientRect().bottom : 0, 0) + 8;
    el.style.bottom = "auto";
    for (; y + el.offsetHeight < window.innerHeight; y += 8) {
      el.style.top = y + "px";
      if (!coversNav(el)) return;
    }
  }
  function toast(text) {
    var el = document.getElementById("toast");
    if (!el || !text) return;
    el.textContent = text;
    placeToast(el);
    el.classList.add("show");
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { el.classList.remove("show"); }, 2500);
  }
  document.body.addEventListener("hp:success", function (e) {
    haptic("success");
    var message = e.detail && e.detail.message;
    // The swapped fragment usually says it already; the toast is for when it doesn't.
    var said = Array.prototype.some.call(app.querySelectorAll(".flash, .state"), function (el) {
      return el.textContent.indexOf(message) >= 0;
    }) || app.textContent.indexOf(message) >= 0;
    if (!said) toast(message);
  });
  document.body.addEventListener("hp:error", function (e) {
    haptic("error");
    // A refusal that swaps nothing (too many taps: rate limited) says why in a toast.
    if (e.detail && e.detail.toast) toast(e.detail.message);
  });
  document.addEventListener("htmx:beforeRequest", function (e) {
    var el = e.detail.elt;
    if (el && el.closest && el.closest("[data-haptic=check-in]")) haptic("impact");
  });
  document.addEventListener("htmx:sendError", function () {
    haptic("error");
    toast("No connection. Try again.");
  });

  // Theme: Telegram sets --tg-theme-* itself; we mark light/dark for the few fixed colours.
  function applyTheme() {
    if (!tg) return;
    root.classList.toggle("tg-dark", tg.colorScheme === "dark");
    root.classList.toggle("tg-light", tg.colorScheme !== "dark");
    root.style.colorScheme = tg.colorScheme === "dark" ? "dark" : "light";
    try {
      tg.setHeaderColor("secondary_bg_color");
      tg.setBackgroundColor("secondary_bg_color");
    } catch (e) { /* older clients */ }
  }

  // Native BackButton on inner screens: the screen names its parent in data-back.
  function onBack() {
    var stepBack = app.querySelector("[data-back-button]");
    if (stepBack) { stepBack.click(); return; }
    var screen = app.querySelector("[data-back]");
    var target = screen ? screen.getAttribute("data-back") : "/";
    htmx.ajax("GET", target, { target: "#app", swap: "innerHTML" }).then(function () {
      history.pushState({ htmx: true }, "", target);
    });
  }
  function updateBack() {
    if (!tg || !tg.BackButton) return;
    var inner = !!app.querySelector("[data-back]") || !!app.querySelector("[data-back-button]");
    if (inner) tg.BackButton.show(); else tg.BackButton.hide();
  }

  function tickCountdowns() {
    var now = Date.now();
    app.querySelectorAll("[data-countdown]").forEach(function (el) {
      var minutes = Math.floor((Date.parse(el.getAttribute("data-countdown")) - now) / 60000);
      if (isNaN(minutes)) return;
      if (minutes < 1) { el.textContent = "less than a minute"; return; }
      var d = Math.floor(minutes / 1440), h = Math.floor(minutes % 1440 / 60), m = minutes % 60;
      el.textContent = d ? d + "d " + h + "h" : h ? h + "h " + m + "m" : m + "m";
    });
  }
  setInterval(tickCountdowns, 30000);

  document.addEventListener("htmx:afterSettle", function () { updateBack(); });

  // Character counters: <input data-counter="ID"> updates #ID's [data-count].
  document.addEventListener("input", function (e) {
    var id = e.target.getAttribute && e.target.getAttribute("data-counter");
    var out = id && document.getElementById(id);
    var count = out && out.querySelector("[data-count]");
    if (count) count.textContent = String(e.target.value.length);
  });

  // A switch that enables its field (reminders → minutes): a disabled field isn't sent,
  // so switching reminders off keeps the minutes for when they come back on.
  document.addEventListener("change", function (e) {
    var sel = e.target.getAttribute && e.target.getAttribute("data-enables");
    var field = sel && document.querySelector(sel);
    if (field) field.disabled = !e.target.checked;
  });

  // Header-authenticated GETs (an <a href> or <img src> can't carry the header).
  function authedFetch(url) {
    var headers = {};
    addHeaders(function (k, v) { headers[k] = v; });
    return fetch(url, { headers: headers, credentials: "same-origin" }).then(function (r) {
      if (!r.ok) throw new Error(String(r.status));
      return r;
    });
  }
  function saveBlob(blob, name) {
    var a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = name;
    document.body.appendChild(a);
    a.click();
    setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
  }

  // Downloads from header-authenticated routes: fetch with the header, save as a file.
  function download(el) {
    el.disabled = true;
    authedFetch(el.getAttribute("data-download"))
      .then(function (r) { return r.blob(); })
      .then(function (blob) {
        saveBlob(blob, el.getAttribute("data-filename") || "download");
        haptic("success");
      })
      .catch(function () { haptic("error"); })
      .then(function () { el.disabled = false; });
  }

  // The weekly recap picture. In Telegram on a phone (stories, Bot API 7.8+):
  // shareToStory with a short-lived signed link, since Telegram fetches the picture
  // itself, without our header. Elsewhere: fetch it with the header, show it, and hand
  // it to the system share sheet, or save it.
  function shareRecap(el) {
    var box = el.closest(".recap");
    var error = box.querySelector("[data-recap-error]");
    var preview = box.querySelector("[data-recap-preview]");
    var png = el.getAttribute("data-recap"), link = el.getAttribute("data-recap-link"), week = encodeURIComponent(el.getAttribute("data-week"));
    var stories = tg && tg.shareToStory && tg.isVersionAtLeast && tg.isVersionAtLeast("7.8") &&
      (tg.platform === "ios" || tg.platform === "android");
    error.hidden = true;
    el.disabled = true;
    el.setAttribute("aria-busy", "true");
    function done() { el.disabled = false; el.removeAttribute("aria-busy"); }
    function fail() { haptic("error"); error.hidden = false; done(); }
    if (stories) {
      authedFetch(link + "?week=" + week)
        .then(function (r) { return r.json(); })
        .then(function (answer) {
          tg.shareToStory(answer.url, { text: el.getAttribute("data-story-text") || "" });
          haptic("success");
          done();
        }, fail);
      return;
    }
    authedFetch(png + "?week=" + week)
      .then(function (r) { return r.blob(); })
      .then(function (blob) {
        var name = "habitpact-recap-" + el.getAttribute("data-week") + ".png";
        if (preview.src) URL.revokeObjectURL(preview.src);
        preview.src = URL.createObjectURL(blob);
        preview.alt = el.textContent;
        preview.hidden = false;
        var file = window.File ? new File([blob], name, { type: "image/png" }) : null;
        if (file && navigator.canShare && navigator.canShare({ files: [file] })) {
          return navigator.share({ files: [file] }).catch(function () { /* dismissed */ });
        }
        saveBlob(blob, name);
      })
      .then(function () { haptic("success"); done(); }, fail);
  }

  // Small behaviours, delegated: quick picks, sharing, time zone offers, "Try again".
  // (No inline on* handlers anywhere: the CSP forbids them.)
  document.addEventListener("click", function (e) {
    var el = e.target.closest ? e.target.closest("[data-fill],[data-share],[data-dismiss-zone],[data-pick-zone],[data-reload],[data-download],[data-recap]") : null;
    if (!el) return;
    if (el.hasAttribute("data-recap")) {
      shareRecap(el);
    } else if (el.hasAttribute("data-reload")) {
      location.reload();
    } else if (el.hasAttribute("data-download")) {
      download(el);
    } else if (el.hasAttribute("data-fill")) {
      var input = document.querySelector(el.getAttribute("data-fill"));
      if (input) { input.value = el.getAttribute("data-value"); input.focus(); }
    } else if (el.hasAttribute("data-share")) {
      var url = "https://t.me/share/url?url=" + encodeURIComponent(el.getAttribute("data-share")) +
        "&text=" + encodeURIComponent(el.getAttribute("data-share-text") || "");
      if (tg && tg.openTelegramLink && tg.initData) { e.preventDefault(); tg.openTelegramLink(url); }
      else if (el.tagName !== "A") window.open(url, "_blank", "noopener");
    } else if (el.hasAttribute("data-dismiss-zone")) {
      localStorage.setItem("hp_zone_dismissed", el.getAttribute("data-dismiss-zone"));
      var offer = document.getElementById("zone-offer");
      if (offer) offer.remove();
    } else if (el.hasAttribute("data-pick-zone")) {
      var select = document.getElementById("timezone");
      if (select) select.value = el.getAttribute("data-pick-zone");
    }
  });

  // First load: the shell signs in with initData, routes start_param, loads the screen.
  function start() {
    var token = document.getElementById("dev-token");
    if (token) {
      sessionStorage.setItem("hp_auth", token.getAttribute("data-token"));
      location.replace(token.getAttribute("data-next") || "/");
      return;
    }
    // telegram-web-app.js defines Telegram.WebApp in any browser; only initData says
    // we are really inside Telegram (and only then is there a native BackButton).
    if (tg && !tg.initData) tg = null;
    if (tg) {
      root.classList.add("tg");
      tg.ready();
      tg.expand();
      applyTheme();
      tg.onEvent("themeChanged", applyTheme);
      tg.BackButton.onClick(onBack);
    }
    updateBack();
    if (!document.getElementById("shell")) return;
    if (!authorization()) {
      document.getElementById("shell-loading").hidden = true;
      document.getElementById("shell-outside").hidden = false;
      document.getElementById("shell").removeAttribute("aria-busy");
      return;
    }
    var path = location.pathname;
    var param = tg && tg.initDataUnsafe && tg.initDataUnsafe.start_param;
    if (path === "/" && param) {
      if (param.indexOf("invite_") === 0) path = "/invite/" + encodeURIComponent(param.slice(7));
      else if (param.indexOf("pact_") === 0) path = "/pacts/" + encodeURIComponent(param.slice(5));
      history.replaceState(null, "", path);
    }
    htmx.ajax("GET", path + location.search, { target: "#app", swap: "innerHTML" });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();

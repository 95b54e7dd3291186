/* HabitPact Mini App glue: Telegram sign-in header, theme, BackButton, MainButton and
   SecondaryButton, native confirms, write access, haptics, start_param routing, the
   phone's time zone, countdowns, sharing, the home-screen offer. No framework. */
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
    toast(document.body.dataset.textOffline || "No connection. Try again.");
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

  document.addEventListener("htmx:afterSettle", function () { updateBack(); updateBottom(); });

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
      if (el.hasAttribute("data-share-prepared") && supports("8.0") && tg.shareMessage) {
        e.preventDefault();
        sharePrepared(el);
      } else if (tg && tg.openTelegramLink && tg.initData) { e.preventDefault(); shareLink(el); }
      else if (el.tagName !== "A") shareLink(el);
    } else if (el.hasAttribute("data-dismiss-zone")) {
      localStorage.setItem("hp_zone_dismissed", el.getAttribute("data-dismiss-zone"));
      var offer = document.getElementById("zone-offer");
      if (offer) offer.remove();
    } else if (el.hasAttribute("data-pick-zone")) {
      var select = document.getElementById("timezone");
      if (select) select.value = el.getAttribute("data-pick-zone");
    }
  });

  // --- Telegram-native controls (issue 14). Each mirrors an in-page button, which stays
  // (browsers outside Telegram, older clients), so there is one code path: pressing the
  // native button clicks the page's. -------------------------------------------------
  function supports(version) {
    return !!(tg && tg.isVersionAtLeast && tg.isVersionAtLeast(version));
  }
  function post(url) {
    var headers = { "Content-Type": "application/json" };
    addHeaders(function (k, v) { headers[k] = v; });
    return fetch(url, { method: "POST", headers: headers, credentials: "same-origin", body: "{}" })
      .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.json(); });
  }

  // MainButton = the screen's [data-main-button]; SecondaryButton = [data-secondary-button].
  var bottom = { main: null, secondary: null };
  function bottomButton(kind) {
    if (!tg) return null;
    if (kind === "main") return supports("6.0") ? tg.MainButton : null;
    return supports("7.10") ? tg.SecondaryButton : null;
  }
  function visible(el) { return !!(el && el.offsetParent !== null); }
  function mirror(kind) {
    var button = bottomButton(kind);
    if (!button) return;
    var attr = kind === "main" ? "data-main-button" : "data-secondary-button";
    var el = Array.prototype.filter.call(app.querySelectorAll("[" + attr + "]"), visible)[0] || null;
    bottom[kind] = el;
    if (!el) { button.hideProgress(); button.hide(); return; }
    var params = {
      text: (el.getAttribute(attr) || el.textContent).trim(),
      is_visible: true,
      is_active: !el.disabled
    };
    if (kind === "secondary") params.position = "left";
    button.hideProgress();
    button.setParams(params);
  }
  function updateBottom() { mirror("main"); mirror("secondary"); }
  function pressBottom(kind) {
    var el = bottom[kind];
    if (el && document.contains(el) && !el.disabled) el.click();
  }
  function owns(kind, elt) {
    var el = bottom[kind];
    return !!(el && elt && (elt === el || (elt.contains && elt.contains(el))));
  }
  document.addEventListener("htmx:beforeRequest", function (e) {
    ["main", "secondary"].forEach(function (kind) {
      var button = bottomButton(kind);
      if (button && owns(kind, e.detail.elt)) button.showProgress(false);
    });
  });
  document.addEventListener("htmx:afterRequest", function (e) {
    ["main", "secondary"].forEach(function (kind) {
      var button = bottomButton(kind);
      if (button) button.hideProgress();
    });
    var path = (e.detail.pathInfo && e.detail.pathInfo.requestPath) || "";
    if (e.detail.successful && /\/check-in$/.test(path.split("?")[0])) offerHomeScreen();
  });

  // Destructive or money actions: Telegram's own confirm inside Telegram (the page's
  // confirm step, or none, elsewhere). data-confirm-post: the real action of a two-step
  // page confirm, sent straight away once confirmed natively.
  document.addEventListener("click", function (e) {
    var el = e.target.closest ? e.target.closest("[data-confirm]") : null;
    if (!el || !supports("6.2")) return;
    if (el.__hpConfirmed) { el.__hpConfirmed = false; return; }
    e.preventDefault();
    e.stopImmediatePropagation();
    tg.showConfirm(el.getAttribute("data-confirm"), function (ok) {
      if (!ok) return;
      // data-confirm-submit: a <details> confirm step's summary; send its form as is.
      var form = el.hasAttribute("data-confirm-submit") && el.parentElement.querySelector("form");
      if (form) { htmx.trigger(form, "submit"); return; }
      var action = el.getAttribute("data-confirm-post");
      if (action) {
        htmx.ajax("POST", action, { target: el.getAttribute("data-confirm-target") || "#app", swap: "outerHTML" });
        return;
      }
      el.__hpConfirmed = true;
      el.click();
    });
  }, true);

  // Rule 17: let the bot write to this person. The banner asks; so does accepting an
  // invite, once, before it goes ahead either way.
  function askWriteAccess(url, then) {
    tg.requestWriteAccess(function (granted) {
      if (!granted) { then(false); return; }
      post(url).then(function () { then(true); }, function () { then(true); });
    });
  }
  document.addEventListener("click", function (e) {
    var el = e.target.closest ? e.target.closest("[data-ask-write-access],[data-request-write-access]") : null;
    if (!el) return;
    var url = el.getAttribute("data-ask-write-access") || el.getAttribute("data-request-write-access");
    var banner = el.hasAttribute("data-request-write-access");
    if (!supports("6.9")) {
      if (banner && tg && tg.openTelegramLink) { e.preventDefault(); tg.openTelegramLink(el.href); }
      return;  // outside Telegram the banner's link opens the bot (press Start)
    }
    if (!banner && el.__hpAsked) return;
    e.preventDefault();
    e.stopImmediatePropagation();
    askWriteAccess(url, function (granted) {
      if (banner) {
        if (!granted) return;
        haptic("success");
        var box = document.getElementById("reach-banner");
        if (box) box.remove();
        toast(document.body.dataset.textMessagesOn || "Messages on! 🔔");
        return;
      }
      el.__hpAsked = true;
      el.click();
    });
  }, true);

  // Invite card: the server prepares it, Telegram lets the user pick any chat.
  function shareLink(el) {
    var url = "https://t.me/share/url?url=" + encodeURIComponent(el.getAttribute("data-share")) +
      "&text=" + encodeURIComponent(el.getAttribute("data-share-text") || "");
    if (tg && tg.openTelegramLink) tg.openTelegramLink(url);
    else window.open(url, "_blank", "noopener");
  }
  function sharePrepared(el) {
    el.disabled = true;
    post(el.getAttribute("data-share-prepared"))
      .then(function (body) {
        tg.shareMessage(body.prepared_message_id, function (sent) { if (sent) haptic("success"); });
      })
      .catch(function () { shareLink(el); })
      .then(function () { el.disabled = false; });
  }

  // After the third check-in on this device, offer a home-screen shortcut once.
  function offerHomeScreen() {
    if (!supports("8.0") || !tg.checkHomeScreenStatus) return;
    try {
      var count = Number(localStorage.getItem("hp_checkins") || 0) + 1;
      localStorage.setItem("hp_checkins", String(count));
      if (count < 3 || localStorage.getItem("hp_home_offered")) return;
    } catch (err) { return; }
    tg.checkHomeScreenStatus(function (status) {
      if (status === "missed") tg.addToHomeScreen();
      if (status === "missed" || status === "added") localStorage.setItem("hp_home_offered", "1");
    });
  }

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
      if (bottomButton("main")) tg.MainButton.onClick(function () { pressBottom("main"); });
      if (bottomButton("secondary")) tg.SecondaryButton.onClick(function () { pressBottom("secondary"); });
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

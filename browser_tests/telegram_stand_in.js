/* A stand-in for https://telegram.org/js/telegram-web-app.js in browser tests: the same
   window.Telegram.WebApp surface the app uses, carrying validly signed initData, and a
   record of every call (window.__tgCalls) for assertions. __CONFIG__ is filled in by
   browser_tests/conftest.py. */
(function () {
  var cfg = __CONFIG__;
  var themes = {
    light: {
      bg_color: "#ffffff", text_color: "#000000", hint_color: "#707579", link_color: "#2a7bd6",
      button_color: "#3390ec", button_text_color: "#ffffff", secondary_bg_color: "#f1f1f4",
      header_bg_color: "#ffffff", accent_text_color: "#2a7bd6", section_bg_color: "#ffffff",
      section_header_text_color: "#2a7bd6", subtitle_text_color: "#707579",
      destructive_text_color: "#d93025"
    },
    dark: {
      bg_color: "#212121", text_color: "#ffffff", hint_color: "#aaaaaa", link_color: "#a79bf0",
      button_color: "#8774e1", button_text_color: "#ffffff", secondary_bg_color: "#0f0f0f",
      header_bg_color: "#212121", accent_text_color: "#a79bf0", section_bg_color: "#212121",
      section_header_text_color: "#a79bf0", subtitle_text_color: "#aaaaaa",
      destructive_text_color: "#ff6b6b"
    }
  };
  var calls = (window.__tgCalls = []);
  // Also mirror each call onto <html data-tg-KIND="..."> so tests can wait on the DOM.
  calls.push = function (call) {
    var el = document.documentElement, name = "data-tg-" + call[0].toLowerCase();
    el.setAttribute(name, ((el.getAttribute(name) || "") + " " + (call[1] || call[0])).trim());
    return Array.prototype.push.call(this, call);
  };
  var handlers = {};
  function applyTheme(name) {
    var params = themes[name];
    Object.keys(params).forEach(function (key) {
      document.documentElement.style.setProperty("--tg-theme-" + key.replace(/_/g, "-"), params[key]);
    });
    document.documentElement.style.setProperty("--tg-color-scheme", name);
  }
  var WebApp = {
    initData: cfg.initData,
    initDataUnsafe: cfg.initDataUnsafe,
    platform: cfg.platform || "tdesktop",
    colorScheme: cfg.theme,
    themeParams: themes[cfg.theme],
    isExpanded: false,
    ready: function () { calls.push(["ready"]); },
    expand: function () { this.isExpanded = true; calls.push(["expand"]); },
    close: function () { calls.push(["close"]); },
    setHeaderColor: function (c) { calls.push(["setHeaderColor", c]); },
    setBackgroundColor: function (c) { calls.push(["setBackgroundColor", c]); },
    onEvent: function (name, fn) { (handlers[name] = handlers[name] || []).push(fn); },
    offEvent: function () {},
    openTelegramLink: function (url) { calls.push(["openTelegramLink", url]); },
    openLink: function (url) { calls.push(["openLink", url]); },
    shareToStory: function (url, params) {
      calls.push(["shareToStory", url]);
      window.__story = { url: url, params: params || {} };
    },
    BackButton: {
      isVisible: false,
      _callbacks: [],
      // Mirrored onto <html data-tg-back="shown|hidden"> so tests wait on the DOM.
      show: function () { this.isVisible = true; document.documentElement.setAttribute("data-tg-back", "shown"); },
      hide: function () { this.isVisible = false; document.documentElement.setAttribute("data-tg-back", "hidden"); },
      onClick: function (fn) { this._callbacks.push(fn); },
      offClick: function () {},
      _press: function () { this._callbacks.forEach(function (fn) { fn(); }); }
    },
    HapticFeedback: {
      impactOccurred: function (style) { calls.push(["impact", style]); },
      notificationOccurred: function (type) { calls.push(["notification", type]); },
      selectionChanged: function () { calls.push(["selection"]); }
    }
  };
  // A client's version: 6.0 unless the test asks for a current one (native: true), so
  // the older tests walk the page's own controls and the newer ones Telegram's.
  WebApp.version = cfg.native ? "8.0" : "6.0";
  WebApp.isVersionAtLeast = function (v) {
    var a = WebApp.version.split(".").map(Number), b = String(v).split(".").map(Number);
    for (var i = 0; i < Math.max(a.length, b.length); i++) {
      if ((a[i] || 0) !== (b[i] || 0)) return (a[i] || 0) > (b[i] || 0);
    }
    return true;
  };
  // MainButton / SecondaryButton: their state is mirrored onto <html
  // data-tg-mainbutton="TEXT|hidden"> (and data-tg-secondarybutton) for the tests.
  function bottomButton(name) {
    var attr = "data-tg-" + name.toLowerCase();
    return {
      text: "", isVisible: false, isActive: true, isProgressVisible: false, position: "",
      _callbacks: [],
      _sync: function () {
        document.documentElement.setAttribute(attr, this.isVisible ? this.text : "hidden");
        if (this.position) document.documentElement.setAttribute(attr + "-position", this.position);
      },
      setParams: function (p) {
        if ("text" in p) this.text = p.text;
        if ("is_visible" in p) this.isVisible = !!p.is_visible;
        if ("is_active" in p) this.isActive = !!p.is_active;
        if ("position" in p) this.position = p.position;
        this._sync();
        return this;
      },
      setText: function (t) { this.text = t; this._sync(); return this; },
      show: function () { this.isVisible = true; this._sync(); return this; },
      hide: function () { this.isVisible = false; this._sync(); return this; },
      enable: function () { this.isActive = true; return this; },
      disable: function () { this.isActive = false; return this; },
      showProgress: function () { this.isProgressVisible = true; calls.push([name + "Progress", "shown"]); return this; },
      hideProgress: function () { this.isProgressVisible = false; return this; },
      onClick: function (fn) { this._callbacks.push(fn); return this; },
      offClick: function () { return this; },
      _press: function () { if (this.isVisible && this.isActive) this._callbacks.forEach(function (fn) { fn(); }); }
    };
  }
  if (cfg.native) {
    WebApp.MainButton = bottomButton("MainButton");
    WebApp.SecondaryButton = bottomButton("SecondaryButton");
    var later = function (fn) { setTimeout(fn, 0); };
    WebApp.showConfirm = function (message, cb) {
      calls.push(["showConfirm", message]);
      document.documentElement.setAttribute("data-tg-confirm-message", message);
      later(function () { cb(cfg.confirmAnswer !== false); });
    };
    WebApp.requestWriteAccess = function (cb) {
      calls.push(["requestWriteAccess"]);
      later(function () { cb(cfg.writeAccessAnswer !== false); });
    };
    WebApp.shareMessage = function (id, cb) {
      calls.push(["shareMessage", id]);
      later(function () { if (cb) cb(true); });
    };
    WebApp.checkHomeScreenStatus = function (cb) {
      calls.push(["checkHomeScreenStatus"]);
      later(function () { cb(cfg.homeScreenStatus || "missed"); });
    };
    WebApp.addToHomeScreen = function () { calls.push(["addToHomeScreen"]); };
  }
  applyTheme(cfg.theme);
  window.__setTheme = function (name) {
    WebApp.colorScheme = name;
    WebApp.themeParams = themes[name];
    applyTheme(name);
    (handlers.themeChanged || []).forEach(function (fn) { fn(); });
  };
  window.Telegram = { WebApp: WebApp };
})();

/* faqbot widget loader. A clinic adds one line to its site:
 *   <script src="https://BOT-HOST/widget.js" async data-title="Questions?" data-color="#0b5cad"
 *           data-position="right" data-greeting="..." data-open="false" data-locale="en-GB"></script>
 * It adds a launcher button and, once opened, the chat in a sandboxed iframe from BOT-HOST, all inside a
 * shadow root so no style leaks either way. It defines one global, window.faqbot: open(), close(), toggle(),
 * ask(text). It sets no cookies and loads nothing from anywhere but BOT-HOST. */
(function () {
  "use strict";

  if (window.faqbot && window.faqbot.version) { return; }  // loaded twice: keep the first

  var SERVER = /*@server-config@*/{};
  var READY_TIMEOUT_MS = 10000;
  var SMALL_SCREEN = "(max-width: 30rem)";

  var script = document.currentScript || (function () {
    var found = document.querySelectorAll("script[src]");
    for (var i = found.length - 1; i >= 0; i--) {
      if (/\/widget\.js(\?|#|$)/.test(found[i].src)) { return found[i]; }
    }
    return null;
  }());
  if (!script) { return; }

  var botUrl = new URL(script.src, document.baseURI);
  var botOrigin = botUrl.origin;
  var hostOrigin = window.location.origin;

  function data(name, fallback) {
    var value = script.getAttribute("data-" + name);
    return value === null || value === "" ? fallback : value;
  }

  var settings = {
    title: data("title", "Questions?").slice(0, 60),
    color: /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.test(data("color", "")) ? data("color", "") : "#0b5cad",
    position: data("position", "right") === "left" ? "left" : "right",
    greeting: data("greeting", "").slice(0, 300),
    open: data("open", "false") === "true",
    locale: data("locale", "")
  };
  if (settings.color.length === 4) {
    settings.color = "#" + settings.color.slice(1).split("").map(function (c) { return c + c; }).join("");
  }

  /* ---------- colour: a readable text colour on the clinic's colour (WCAG AA) ---------- */

  function luminance(hex) {
    var rgb = [1, 3, 5].map(function (i) { return parseInt(hex.substr(i, 2), 16) / 255; });
    var lin = rgb.map(function (c) { return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4); });
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2];
  }
  var lum = luminance(settings.color);
  var ink = (1.05 / (lum + 0.05)) >= ((lum + 0.05) / 0.05) ? "#ffffff" : "#000000";

  /* ---------- the elements, in a shadow root ---------- */

  var CSS = [
    ":host{all:initial;}",
    ".faqbot-w-launcher{position:fixed;bottom:1rem;z-index:2147483000;display:inline-flex;align-items:center;",
    "gap:.5rem;min-height:3rem;padding:.625rem 1.125rem;border:2px solid #ffffff;border-radius:1.5rem;",
    "background:ACCENT;color:INK;font:600 1rem/1.2 system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;",
    "box-shadow:0 2px 10px rgba(0,0,0,.35);cursor:pointer;}",
    ".faqbot-w-launcher:focus-visible{outline:3px solid transparent;box-shadow:0 0 0 3px #ffffff,0 0 0 6px #1a1a1a;}",
    ".faqbot-w-icon{width:1.25rem;height:1.25rem;fill:currentColor;}",
    ".faqbot-w-panel{position:fixed;bottom:5rem;z-index:2147483001;width:25rem;max-width:calc(100vw - 2rem);",
    "height:40rem;max-height:calc(100vh - 6.5rem);border-radius:.75rem;overflow:hidden;background:#ffffff;",
    "box-shadow:0 6px 28px rgba(0,0,0,.35);visibility:hidden;opacity:0;pointer-events:none;",
    "transform:translateY(.5rem);transition:opacity .15s ease,transform .15s ease,visibility 0s linear .15s;}",
    ".faqbot-w-panel.faqbot-w-open{visibility:visible;opacity:1;pointer-events:auto;transform:none;",
    "transition:opacity .15s ease,transform .15s ease;}",
    ".faqbot-w-right{right:1rem;}.faqbot-w-left{left:1rem;}",
    ".faqbot-w-frame{display:block;width:100%;height:100%;border:0;}",
    ".faqbot-w-fallback{margin:0;padding:1rem;font:1rem/1.5 system-ui,sans-serif;color:#1a1a1a;}",
    ".faqbot-w-fallback[hidden]{display:none;}",
    "@media " + SMALL_SCREEN + "{.faqbot-w-panel{top:0;bottom:0;left:0;right:0;width:100%;max-width:none;",
    "height:100%;max-height:none;border-radius:0;}}",
    "@media (prefers-reduced-motion:reduce){.faqbot-w-panel,.faqbot-w-panel.faqbot-w-open{transition:none;transform:none;}}"
  ].join("").replace(/ACCENT/g, settings.color).replace(/INK/g, ink);

  var host = document.createElement("faqbot-widget");
  host.setAttribute("data-faqbot", "");
  var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;

  function addStyles() {
    // A constructed sheet works under a clinic's strict style-src; a <style> element is the fallback.
    try {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      root.adoptedStyleSheets = [sheet];
      return;
    } catch (e) { /* older browser */ }
    var style = document.createElement("style");
    style.textContent = CSS;
    root.appendChild(style);
  }

  var launcher = document.createElement("button");
  launcher.type = "button";
  launcher.className = "faqbot-w-launcher faqbot-w-" + settings.position;
  launcher.setAttribute("aria-expanded", "false");
  launcher.setAttribute("aria-controls", "faqbot-w-panel");
  launcher.setAttribute("aria-haspopup", "dialog");
  var svgNs = "http://www.w3.org/2000/svg";
  var icon = document.createElementNS(svgNs, "svg");
  icon.setAttribute("class", "faqbot-w-icon");
  icon.setAttribute("viewBox", "0 0 24 24");
  icon.setAttribute("aria-hidden", "true");
  icon.setAttribute("focusable", "false");
  var path = document.createElementNS(svgNs, "path");
  path.setAttribute("d", "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z");
  icon.appendChild(path);
  var label = document.createElement("span");
  label.textContent = settings.title;
  launcher.appendChild(icon);
  launcher.appendChild(label);

  var panel = document.createElement("div");
  panel.id = "faqbot-w-panel";
  panel.className = "faqbot-w-panel faqbot-w-" + settings.position;
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", settings.title + " chat");

  var fallback = document.createElement("p");
  fallback.className = "faqbot-w-fallback";
  fallback.hidden = true;
  // The numbers of the clinic's locale profile (data-locale), else the server's default profile.
  var numbers = (SERVER.locales && Object.prototype.hasOwnProperty.call(SERVER.locales, settings.locale))
    ? SERVER.locales[settings.locale] : SERVER;
  fallback.textContent = "The chat could not load. " +
    (numbers.emergency ? "In an emergency, call " + numbers.emergency + "." : "In an emergency, call your local emergency number.");

  var frame = null;
  var ready = false;
  var pending = [];   // messages for the iframe, sent once it says it is ready
  var isOpen = false;
  var readyTimer = null;

  function embedUrl() {
    var url = new URL("/embed", botOrigin);
    url.searchParams.set("host", hostOrigin);
    url.searchParams.set("color", settings.color);
    url.searchParams.set("title", settings.title);
    if (settings.greeting) { url.searchParams.set("greeting", settings.greeting); }
    if (settings.locale) { url.searchParams.set("locale", settings.locale); }
    return url.href;
  }

  function makeFrame() {
    if (frame) { return; }
    frame = document.createElement("iframe");
    frame.className = "faqbot-w-frame";
    frame.title = settings.title + " - automated helper chat";
    frame.setAttribute("sandbox", "allow-scripts allow-same-origin allow-forms allow-popups " +
                                  "allow-popups-to-escape-sandbox");
    frame.setAttribute("referrerpolicy", "no-referrer");
    frame.setAttribute("allow", "");
    frame.src = embedUrl();
    panel.appendChild(frame);
    // The iframe says "ready" over postMessage; silence means it failed (blocked, offline, bot down).
    readyTimer = window.setTimeout(function () {
      if (!ready) { fallback.hidden = false; frame.hidden = true; }
    }, READY_TIMEOUT_MS);
  }

  function post(message) {
    if (ready && frame && frame.contentWindow) {
      frame.contentWindow.postMessage(message, botOrigin);
    } else {
      pending.push(message);
    }
  }

  function onMessage(event) {
    // Only the bot's own iframe may talk to the widget.
    if (event.origin !== botOrigin || !frame || event.source !== frame.contentWindow) { return; }
    var msg = event.data;
    if (!msg || typeof msg !== "object" || msg.faqbot !== 1) { return; }
    if (msg.type === "ready") {
      ready = true;
      window.clearTimeout(readyTimer);
      fallback.hidden = true;
      frame.hidden = false;
      var queued = pending;
      pending = [];
      queued.forEach(post);
      if (isOpen) { focusChat(); }
    } else if (msg.type === "close") {
      close();
    }
  }

  function focusChat() {
    if (!frame) { return; }
    frame.focus();
    post({ faqbot: 1, type: "focus" });
  }

  function open() {
    makeFrame();
    if (isOpen) { return; }
    isOpen = true;
    panel.classList.add("faqbot-w-open");
    launcher.setAttribute("aria-expanded", "true");
    if (ready) { focusChat(); }
  }

  function close() {
    if (!isOpen) { return; }
    var hadFocus = document.activeElement === host || (frame && document.activeElement === frame);
    isOpen = false;
    panel.classList.remove("faqbot-w-open");
    launcher.setAttribute("aria-expanded", "false");
    if (hadFocus || root.activeElement) { launcher.focus(); }
  }

  function toggle() {
    if (isOpen) { close(); } else { open(); }
  }

  function ask(text) {
    if (typeof text !== "string" || !text.trim()) { return; }
    open();
    post({ faqbot: 1, type: "ask", text: text.slice(0, 1000) });
  }

  function mount() {
    addStyles();
    panel.appendChild(fallback);
    root.appendChild(launcher);
    root.appendChild(panel);
    document.body.appendChild(host);
    launcher.addEventListener("click", toggle);
    window.addEventListener("message", onMessage);
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && isOpen) { close(); }
    });
    var small = window.matchMedia && window.matchMedia(SMALL_SCREEN).matches;
    // Opening on load covers a phone's whole screen: honour data-open on larger screens only.
    if (settings.open && !small) { open(); }
  }

  window.faqbot = Object.freeze({ version: 1, open: open, close: close, toggle: toggle, ask: ask });

  if (document.body) {
    mount();
  } else {
    document.addEventListener("DOMContentLoaded", mount);
  }
}());

/* faqbot chat: the conversation in the full page (/) and inside the widget's iframe (/embed).
 * Every piece of text from the bot, the knowledge base or the person goes in through textContent, never as HTML.
 * Nothing is kept beyond this tab: sessionStorage only, no cookies. */
(function () {
  "use strict";

  var STORE_KEY = "faqbot:chat:v1";
  var MAX_KEPT = 120;            // messages kept for a reload; older ones are dropped
  var REPLY_TIMEOUT_MS = 20000;  // no reply by then: say so and let the person try again

  var app = document.getElementById("faqbot-app");
  if (!app) { return; }
  var el = {
    log: document.getElementById("faqbot-log"),
    alert: document.getElementById("faqbot-alert"),
    status: document.getElementById("faqbot-status"),
    offline: document.getElementById("faqbot-offline"),
    form: document.getElementById("faqbot-form"),
    input: document.getElementById("faqbot-input"),
    send: document.getElementById("faqbot-send"),
    clear: document.getElementById("faqbot-clear"),
    contact: document.getElementById("faqbot-contact"),
    close: document.getElementById("faqbot-close"),
    disclaimer: document.getElementById("faqbot-disclaimer")
  };

  var config = {
    embed: app.getAttribute("data-embed") === "true",
    host: app.getAttribute("data-host") || "",
    color: app.getAttribute("data-color") || "",
    locale: app.getAttribute("data-locale") || "",
    emergency: app.getAttribute("data-emergency") || "",
    offline: app.getAttribute("data-offline") || "",
    welcome: app.getAttribute("data-welcome") || "",
    disclaimer: app.getAttribute("data-disclaimer") || "",
    greeting: app.getAttribute("data-greeting") || "",
    suggestions: parseList(app.getAttribute("data-suggestions")),
    // The way to a person, rendered into the page so that "Contact the clinic" works without the server.
    contact: app.getAttribute("data-contact") || "",
    contacts: parseObject(app.getAttribute("data-contacts")),
    maxChars: parseInt(app.getAttribute("data-max-chars"), 10) || 1000
  };

  var state = load();
  var socket = null;
  var everConnected = false;
  var queue = [];        // messages waiting for the previous reply
  var waiting = null;    // {text, timer} of the message on its way
  var inFrame = config.embed && window.parent !== window;

  /* ---------- helpers ---------- */

  function parseList(raw) {
    try {
      var value = JSON.parse(raw || "[]");
      return Array.isArray(value) ? value.filter(function (s) { return typeof s === "string"; }) : [];
    } catch (e) {
      return [];
    }
  }

  function parseObject(raw) {
    try {
      var value = JSON.parse(raw || "{}");
      return value && typeof value === "object" && !Array.isArray(value) ? value : {};
    } catch (e) {
      return {};
    }
  }

  function newId() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function storage() {
    try { return window.sessionStorage; } catch (e) { return null; }  // blocked storage: chat still works
  }

  function load() {
    var store = storage();
    var saved = null;
    if (store) {
      try { saved = JSON.parse(store.getItem(STORE_KEY) || "null"); } catch (e) { saved = null; }
    }
    if (!saved || typeof saved.conversation !== "string" || !Array.isArray(saved.messages)) {
      saved = { conversation: newId(), messages: [] };
    }
    saved.messages = saved.messages.filter(function (m) { return m && typeof m === "object"; });
    saved.messages.forEach(function (m) { if (typeof m.id !== "string") { m.id = newId(); } });
    return saved;
  }

  function save() {
    var store = storage();
    if (!store) { return; }
    state.messages = state.messages.slice(-MAX_KEPT);
    try { store.setItem(STORE_KEY, JSON.stringify(state)); } catch (e) { /* full or blocked: keep going */ }
  }

  function make(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function safeUrl(raw) {
    // Links come only from the knowledge base, and only as https addresses.
    if (typeof raw !== "string") { return ""; }
    try {
      var url = new URL(raw);
      return url.protocol === "https:" ? url.href : "";
    } catch (e) {
      return "";
    }
  }

  function telHref(number) {
    return "tel:" + String(number).replace(/[^0-9+]/g, "");
  }

  function trimmed(value) {
    return typeof value === "string" ? value.trim() : "";
  }

  function scrollDown() {
    el.log.scrollTop = el.log.scrollHeight;
  }

  /* ---------- colour: the clinic's colour with a readable text colour on it ---------- */

  function luminance(hex) {
    var rgb = [1, 3, 5].map(function (i) { return parseInt(hex.substr(i, 2), 16) / 255; });
    var lin = rgb.map(function (c) { return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4); });
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2];
  }

  function contrast(a, b) {
    var hi = Math.max(a, b), lo = Math.min(a, b);
    return (hi + 0.05) / (lo + 0.05);
  }

  function applyColor(hex) {
    if (!/^#[0-9a-f]{6}$/i.test(hex)) { return; }
    var lum = luminance(hex);
    // Either black or white always reaches 4.5:1 on a solid colour; take the better one.
    var ink = contrast(lum, 1) >= contrast(lum, 0) ? "#ffffff" : "#000000";
    // CSSOM custom properties: allowed under a strict style-src, unlike style attributes.
    app.style.setProperty("--faqbot-accent", hex);
    app.style.setProperty("--faqbot-accent-ink", ink);
  }

  /* ---------- rendering ---------- */

  function renderParagraphs(parent, text) {
    String(text || "").split(/\n{1,}/).forEach(function (line) {
      if (line.trim()) { parent.appendChild(make("p", "faqbot-text", line)); }
    });
  }

  function renderCitation(cite) {
    var quote = make("blockquote", "faqbot-quote");
    var url = safeUrl(cite.url);
    if (url) { quote.setAttribute("cite", url); }
    quote.appendChild(make("p", "faqbot-quote-text", cite.quote || ""));
    var source = make("p", "faqbot-quote-source");
    source.appendChild(document.createTextNode("Source: "));
    if (url) {
      var link = make("a", "faqbot-link", cite.title || url);
      link.href = url;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      link.appendChild(make("span", "faqbot-sr-only", " (opens in a new tab)"));
      source.appendChild(link);
    } else {
      source.appendChild(document.createTextNode(cite.title || ""));
    }
    if (cite.section) {
      source.appendChild(document.createTextNode(", section \u201c"));
      source.appendChild(make("span", "faqbot-quote-section", cite.section));
      source.appendChild(document.createTextNode("\u201d"));
    }
    quote.appendChild(source);
    return quote;
  }

  function renderChips(suggestions, label) {
    var group = make("div", "faqbot-chips");
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", label);
    suggestions.forEach(function (text) {
      var chip = make("button", "faqbot-chip", text);
      chip.type = "button";
      chip.setAttribute("data-question", text);
      group.appendChild(chip);
    });
    return group;
  }

  // Thumbs up or down on an answer: the entry id, the vote, the chat's conversation id and the question it answered
  // leave the browser (the question went to the server already; it is kept with personal details removed, for staff
  // to see wrong answers).
  function renderFeedback(msg) {
    var box = make("div", "faqbot-feedback");
    if (msg.vote) {
      box.appendChild(make("p", "faqbot-feedback-done", "Thank you for your feedback."));
      return box;
    }
    box.setAttribute("role", "group");
    box.setAttribute("aria-label", "Was this answer helpful?");
    box.appendChild(make("span", "faqbot-feedback-label", "Was this helpful?"));
    [["up", "\ud83d\udc4d Yes"], ["down", "\ud83d\udc4e No"]].forEach(function (pair) {
      var button = make("button", "faqbot-vote", pair[1]);
      button.type = "button";
      button.setAttribute("data-vote", pair[0]);
      button.setAttribute("aria-label", pair[0] === "up" ? "Yes, this was helpful" : "No, this was not helpful");
      box.appendChild(button);
    });
    return box;
  }

  function keep(msg) {
    // Each message carries its own id: the log on screen can hold more than the MAX_KEPT messages stored.
    if (typeof msg.id !== "string") { msg.id = newId(); }
    state.messages.push(msg);
  }

  function findMessage(id) {
    for (var i = state.messages.length - 1; i >= 0; i--) {
      if (state.messages[i].id === id) { return state.messages[i]; }
    }
    return null;
  }

  function vote(node, value) {
    var msg = findMessage(node.getAttribute("data-message"));
    if (!msg || !msg.reply || msg.vote) { return; }
    msg.vote = value;
    save();
    // The conversation id lets the server count the vote only for an entry it answered in this chat.
    var payload = { entry_id: msg.reply.entry_id, vote: value, conversation: state.conversation };
    for (var i = state.messages.indexOf(msg) - 1; i >= 0; i--) {
      if (state.messages[i].role === "user") { payload.message = state.messages[i].text; break; }
    }
    if (socket && socket.connected) {
      socket.emit("feedback", payload);
    } else {
      window.fetch("/api/feedback", { method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify(payload), credentials: "omit", referrerPolicy: "no-referrer" }).catch(function () {});
    }
    var old = node.querySelector(".faqbot-feedback");
    if (old) { old.parentNode.replaceChild(renderFeedback(msg), old); }
    el.status.textContent = "Thank you for your feedback.";
  }

  // The clinic's phone, e-mail and contact page as links, and the emergency number: from the page, not the server.
  function renderContacts() {
    var box = make("div", "faqbot-contacts");
    var contacts = config.contacts;
    var phone = trimmed(contacts.phone);
    if (phone) {
      var call = make("a", "faqbot-contact-link", "Call " + phone);
      call.href = telHref(phone);
      box.appendChild(call);
    }
    var email = trimmed(contacts.email);
    if (/^[^@\s<>"]+@[^@\s<>"]+$/.test(email)) {
      var mail = make("a", "faqbot-contact-link", "E-mail " + email);
      mail.href = "mailto:" + email;
      box.appendChild(mail);
    }
    var page = safeUrl(contacts.contact_page);
    if (page) {
      var link = make("a", "faqbot-contact-link", "Contact page");
      link.href = page;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      link.appendChild(make("span", "faqbot-sr-only", " (opens in a new tab)"));
      box.appendChild(link);
    }
    if (config.emergency) {
      var emergency = make("a", "faqbot-call", "Call " + config.emergency);
      emergency.href = telHref(config.emergency);
      box.appendChild(emergency);
    }
    return box;
  }

  function showContacts() {
    var words = config.contact ||
      ("I am an automated helper, and nobody reads this chat. In an emergency, call " + config.emergency + ".");
    addMessage({ role: "bot", reply: { type: "smalltalk", kind: "contact", text: words, citations: [],
                                       suggestions: [] } }, false);
  }

  function removeOldChips() {
    var old = el.log.querySelectorAll(".faqbot-chips");
    for (var i = 0; i < old.length; i++) { old[i].parentNode.removeChild(old[i]); }
  }

  function renderMessage(msg, isLast) {
    var node;
    if (msg.role === "user") {
      node = make("div", "faqbot-msg faqbot-msg--user");
      node.setAttribute("data-message", msg.id);
      node.appendChild(make("span", "faqbot-sr-only", "You said: "));
      renderParagraphs(node, msg.text);
      return node;
    }
    var reply = msg.reply || {};
    var type = typeof reply.type === "string" ? reply.type.replace(/[^a-z]/g, "") : "answer";
    node = make("div", "faqbot-msg faqbot-msg--bot faqbot-msg--" + (msg.role === "error" ? "error" : type));
    node.setAttribute("data-message", msg.id);
    if (type === "urgent") {
      var badge = make("p", "faqbot-badge", "Urgent");
      node.appendChild(badge);
    }
    node.appendChild(make("span", "faqbot-sr-only", msg.role === "error" ? "Problem: " : (type === "notice" ? "Notice from the clinic: " : "Helper said: ")));
    renderParagraphs(node, reply.text);
    if (type === "urgent" && config.emergency) {
      var call = make("a", "faqbot-call", "Call " + config.emergency);
      call.href = telHref(config.emergency);
      node.appendChild(call);
    }
    if (reply.kind === "contact") {
      node.appendChild(renderContacts());
    }
    var citations = Array.isArray(reply.citations) ? reply.citations : [];
    citations.forEach(function (cite) {
      if (cite && typeof cite === "object") { node.appendChild(renderCitation(cite)); }
    });
    if (type === "answer" && typeof reply.entry_id === "string" && reply.entry_id) {
      node.appendChild(renderFeedback(msg));
    }
    var suggestions = Array.isArray(reply.suggestions)
      ? reply.suggestions.filter(function (s) { return typeof s === "string" && s.trim(); }) : [];
    if (isLast && suggestions.length) {
      node.appendChild(renderChips(suggestions, type === "clarify" ? "Did you mean" : "Suggested questions"));
    }
    return node;
  }

  function renderAll() {
    while (el.log.firstChild) { el.log.removeChild(el.log.firstChild); }
    var lastBot = -1;
    state.messages.forEach(function (m, i) { if (m.role !== "user") { lastBot = i; } });
    state.messages.forEach(function (m, i) { el.log.appendChild(renderMessage(m, i === lastBot)); });
    scrollDown();
  }

  function showDisclaimer(text) {
    if (typeof text === "string" && text.trim()) { el.disclaimer.textContent = text; }
  }

  function welcomeMessages() {
    var list = [];
    if (config.greeting) {
      list.push({ role: "bot", reply: { type: "smalltalk", text: config.greeting, citations: [], suggestions: [] } });
    }
    list.push({ role: "bot", reply: { type: "welcome", text: config.welcome, citations: [],
                                       suggestions: config.suggestions } });
    return list;
  }

  function addMessage(msg, announceUrgent) {
    removeOldChips();
    keep(msg);
    save();
    var urgent = msg.reply && msg.reply.type === "urgent";
    if (urgent && announceUrgent) {
      // Announce an urgent reply once, through the alert region; the log stays quiet for this one addition.
      el.log.setAttribute("aria-live", "off");
      showAlert(msg.reply.text);
    }
    var node = renderMessage(msg, true);
    el.log.appendChild(node);
    if (urgent && announceUrgent) {
      window.setTimeout(function () { el.log.setAttribute("aria-live", "polite"); }, 250);
    }
    if (msg.role === "user") {
      scrollDown();
    } else {
      // A long reply is read from its start: bring its top into view rather than its end.
      el.log.scrollTop = Math.max(0, node.offsetTop - 8);
    }
  }

  function showAlert(text) {
    // The alert region is visually hidden: the urgent message itself is the visible, set-apart one.
    el.alert.textContent = "";
    el.alert.appendChild(make("p", "faqbot-alert-text", "Urgent: " + text));
  }

  function clearAlert() {
    while (el.alert.firstChild) { el.alert.removeChild(el.alert.firstChild); }
  }

  function setTyping(on) {
    el.status.textContent = "";
    if (!on) { return; }
    var typing = make("span", "faqbot-typing");
    typing.setAttribute("aria-hidden", "true");
    for (var i = 0; i < 3; i++) { typing.appendChild(make("span", "faqbot-dot")); }
    el.status.appendChild(typing);
    el.status.appendChild(make("span", "faqbot-status-text", "The helper is looking for an answer\u2026"));
  }

  function setOffline(on) {
    var shown = el.offline.firstChild !== null;
    if (on === shown) { return; }
    if (!on) {
      el.offline.textContent = "";
      app.classList.remove("faqbot-app--offline");
      return;
    }
    // The words and the number were rendered into the page: no server needed to show them.
    var box = make("div", "faqbot-offline-box");
    box.appendChild(make("p", "faqbot-offline-text", config.offline ||
      ("The chat has lost its connection. In an emergency, call " + config.emergency + ".")));
    if (config.emergency) {
      var call = make("a", "faqbot-call", "Call " + config.emergency);
      call.href = telHref(config.emergency);
      box.appendChild(call);
    }
    box.appendChild(make("p", "faqbot-offline-retry", "Trying to reconnect\u2026"));
    el.offline.appendChild(box);
    app.classList.add("faqbot-app--offline");
  }

  /* ---------- sending ---------- */

  function ask(text) {
    text = String(text || "").trim();
    if (!text) { return; }
    if (text.length > config.maxChars) {
      addMessage({ role: "error", reply: { type: "error",
        text: "That message is too long. Please keep it under " + config.maxChars + " characters." } });
      return;
    }
    addMessage({ role: "user", text: text });
    queue.push(text);
    pump();
  }

  function pump() {
    if (waiting || !queue.length) { return; }
    var text = queue.shift();
    waiting = { text: text, timer: window.setTimeout(onTimeout, REPLY_TIMEOUT_MS) };
    setTyping(true);
    if (socket && socket.connected) {
      socket.emit("ask", { message: text, conversation: state.conversation, locale: config.locale });
    } else {
      askOverHttp(text);
    }
  }

  function askOverHttp(text) {
    // The fallback when no socket transport gets through: the same reply over plain HTTP.
    window.fetch("/api/ask", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ message: text, session: state.conversation, locale: config.locale }),
      credentials: "omit",
      referrerPolicy: "no-referrer",
      cache: "no-store"
    }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, body: body }; });
    }).then(function (result) {
      if (!waiting) { return; }
      setOffline(false);
      if (result.ok) { onReply(result.body); } else { onError(result.body); }
    }).catch(function () {
      if (!waiting) { return; }
      setOffline(true);
      onError({ error: "The message could not be sent. Please check your connection and try again." });
    });
  }

  function finish() {
    if (waiting) { window.clearTimeout(waiting.timer); }
    waiting = null;
    setTyping(false);
    pump();
  }

  function onReply(reply) {
    if (!reply || typeof reply !== "object") { return; }
    if (!waiting) { return; }  // a late reply after a timeout or a cleared chat
    showDisclaimer(reply.disclaimer);
    addMessage({ role: "bot", reply: {
      type: reply.type, text: reply.text, citations: reply.citations, suggestions: reply.suggestions,
      entry_id: reply.entry_id, kind: typeof reply.kind === "string" ? reply.kind : "" } }, true);
    finish();
  }

  function onError(body) {
    if (!waiting) { return; }
    var text = body && typeof body.error === "string" ? body.error : "Something went wrong.";
    addMessage({ role: "error", reply: { type: "error", text: "Sorry: " + text } });
    finish();
  }

  function onTimeout() {
    if (!waiting) { return; }
    var text = waiting.text;
    waiting = null;
    addMessage({ role: "error", reply: { type: "error",
      text: "No answer came back for \u201c" + text + "\u201d. Please try again. In an emergency, call " +
            config.emergency + "." } });
    setTyping(false);
    pump();
  }

  function clearChat() {
    queue = [];
    if (waiting) { window.clearTimeout(waiting.timer); waiting = null; }
    setTyping(false);
    clearAlert();
    state = { conversation: newId(), messages: [] };
    welcomeMessages().forEach(keep);
    save();
    renderAll();
    showDisclaimer(config.disclaimer);
    el.status.textContent = "Chat cleared.";
    el.input.value = "";
    el.input.focus();
  }

  /* ---------- connection ---------- */

  function connect() {
    if (typeof window.io !== "function") { return; }  // the client did not load: HTTP only
    // Polling first, then upgrade: where websockets are blocked the chat stays on long-polling.
    socket = window.io({ transports: ["polling", "websocket"], reconnection: true, auth: { locale: config.locale },
                         reconnectionDelay: 1000, reconnectionDelayMax: 5000, withCredentials: false });
    socket.on("connect", function () {
      everConnected = true;
      setOffline(false);
    });
    socket.on("disconnect", function (reason) {
      if (reason === "io client disconnect") { return; }
      setOffline(true);
      // The reply to a message in flight is lost with the socket: try it once over plain HTTP.
      if (waiting) { askOverHttp(waiting.text); }
    });
    socket.on("connect_error", function () {
      if (everConnected) { setOffline(true); return; }
      // Never connected: the socket may be blocked while plain HTTP works, so ask before raising the alarm.
      window.fetch("/api/health", { credentials: "omit", cache: "no-store" })
        .then(function (r) { setOffline(!r.ok); })
        .catch(function () { setOffline(true); });
    });
    socket.on("welcome", function (data) {
      if (!data || typeof data !== "object") { return; }
      if (typeof data.emergency_number === "string" && data.emergency_number) { config.emergency = data.emergency_number; }
      if (typeof data.offline === "string" && data.offline) { config.offline = data.offline; }
      if (typeof data.contact === "string" && data.contact) { config.contact = data.contact; }
      if (data.contacts && typeof data.contacts === "object") { config.contacts = data.contacts; }
    });
    socket.on("reply", onReply);
    // A notice from the clinic to every open chat (run.py announce): shown and read out as plain text.
    socket.on("notice", function (data) {
      if (!data || typeof data.text !== "string" || !data.text.trim()) { return; }
      addMessage({ role: "bot", reply: { type: "notice", text: data.text.slice(0, 1000), citations: [],
                                         suggestions: [] } }, false);
    });
    socket.on("error", onError);
  }

  /* ---------- the iframe's side of the widget ---------- */

  function toParent(message) {
    if (inFrame && config.host) { window.parent.postMessage(message, config.host); }
  }

  function trustedParent() {
    if (!inFrame || !config.host) { return false; }
    // Where the browser says who embeds us, it must be the origin the loader gave.
    var ancestors = window.location.ancestorOrigins;
    if (ancestors && ancestors.length && ancestors[0] !== config.host) { return false; }
    return true;
  }

  function onParentMessage(event) {
    if (event.source !== window.parent || event.origin !== config.host) { return; }
    var data = event.data;
    if (!data || typeof data !== "object" || data.faqbot !== 1) { return; }
    if (data.type === "ask" && typeof data.text === "string") {
      ask(data.text.slice(0, config.maxChars));
    } else if (data.type === "focus") {
      el.input.focus();
    }
  }

  /* ---------- wiring ---------- */

  applyColor(config.color);
  if (!state.messages.length) {
    welcomeMessages().forEach(keep);
    save();
  }
  renderAll();

  el.form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = el.input.value;
    if (!text.trim()) { el.input.focus(); return; }
    el.input.value = "";
    ask(text);
    el.input.focus();
  });

  el.log.addEventListener("click", function (event) {
    var button = event.target && event.target.closest ? event.target.closest(".faqbot-vote") : null;
    if (button) {
      vote(button.closest(".faqbot-msg"), button.getAttribute("data-vote"));
      return;
    }
    var chip = event.target && event.target.closest ? event.target.closest(".faqbot-chip") : null;
    if (!chip) { return; }
    ask(chip.getAttribute("data-question"));
    el.input.focus();
  });

  el.clear.addEventListener("click", clearChat);
  if (el.contact) { el.contact.addEventListener("click", showContacts); }

  window.addEventListener("offline", function () { setOffline(true); });
  window.addEventListener("online", function () {
    if (!socket || socket.connected) { setOffline(false); }
  });

  if (trustedParent()) {
    if (el.close) {
      el.close.hidden = false;
      el.close.addEventListener("click", function () { toParent({ faqbot: 1, type: "close" }); });
    }
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape") { toParent({ faqbot: 1, type: "close" }); }
    });
    window.addEventListener("message", onParentMessage);
    toParent({ faqbot: 1, type: "ready" });
  }

  connect();
}());

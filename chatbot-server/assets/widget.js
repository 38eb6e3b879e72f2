/*! chatbot widget | readable source of widget.min.js (built by assets/build.sh) */
/*
 * Embed:  <script src="https://HOST/widget.js" data-company="123" async></script>
 * Optional attributes:
 *   data-api-base="https://HOST"   API origin (default: the origin this script was loaded from)
 *   data-key="pk_..."              use the session API (POST /api/chatbot/session + /chat)
 *   data-storage="local"|"session"|"none"   where the visitor's token is kept (default local);
 *                                  nothing is written before the visitor's first message.
 * Page URL #chatbot-admin (or #chatbot-admin=oc_...) opens owner mode: the company's secret key
 * (or the one-time code) is exchanged for a short-lived settings-only token kept in memory.
 *
 * Everything lives in a Shadow DOM root with its own reset; styles come from a constructed
 * stylesheet (a strict host CSP without 'unsafe-inline' still works); untrusted text only ever
 * reaches the page through textContent / createTextNode / attribute setters, never innerHTML.
 * One global: window.ChatbotWidget {open, close, identify, on}.
 */
(function () {
  "use strict";
  if (window.ChatbotWidget && window.ChatbotWidget.company) return; // loaded twice

  var script = document.currentScript || (function () {
    var s = document.querySelectorAll("script[data-company]");
    return s[s.length - 1];
  })();
  if (!script) return;
  var company = script.getAttribute("data-company");
  if (!company) { console.warn("chatbot widget: data-company is missing"); return; }
  var apiBase = (script.getAttribute("data-api-base") || new URL(script.src, location.href).origin).replace(/\/+$/, "");
  var pk = script.getAttribute("data-key") || "";
  var storageMode = script.getAttribute("data-storage") || "local";
  var enc = encodeURIComponent(company);
  var STORE_KEY = "chatbot_" + company;

  // ---------------------------------------------------------------- strings
  // A small built-in table; `{n}` is replaced. Owner mode (for the partner) is English only.
  var STRINGS = {
    en: ["Chat with us", "Close chat", "Message", "Send", "Typing…", "Suggested questions", "Sources",
      "Helpful", "Not helpful", "Tell us more (optional)", "Send feedback", "Thanks for your feedback!",
      "Retry", "Sorry, something went wrong. Please try again.", "The answer was interrupted.",
      "Too many messages. Please wait {n} seconds.", "You are offline. Check your connection and try again.",
      "Type your message..."],
    de: ["Schreiben Sie uns", "Chat schließen", "Nachricht", "Senden", "Schreibt…", "Vorgeschlagene Fragen", "Quellen",
      "Hilfreich", "Nicht hilfreich", "Erzählen Sie uns mehr (optional)", "Feedback senden", "Danke für Ihr Feedback!",
      "Erneut versuchen", "Entschuldigung, etwas ist schiefgelaufen. Bitte versuchen Sie es erneut.",
      "Die Antwort wurde unterbrochen.", "Zu viele Nachrichten. Bitte warten Sie {n} Sekunden.",
      "Sie sind offline. Prüfen Sie Ihre Verbindung und versuchen Sie es erneut.", "Ihre Nachricht..."],
    fr: ["Discutons", "Fermer le chat", "Message", "Envoyer", "En train d’écrire…", "Questions suggérées", "Sources",
      "Utile", "Pas utile", "Dites-nous en plus (facultatif)", "Envoyer l’avis", "Merci pour votre avis !",
      "Réessayer", "Désolé, une erreur est survenue. Veuillez réessayer.", "La réponse a été interrompue.",
      "Trop de messages. Veuillez patienter {n} secondes.", "Vous êtes hors ligne. Vérifiez votre connexion et réessayez.",
      "Votre message..."],
    es: ["Chatea con nosotros", "Cerrar chat", "Mensaje", "Enviar", "Escribiendo…", "Preguntas sugeridas", "Fuentes",
      "Útil", "No útil", "Cuéntanos más (opcional)", "Enviar opinión", "¡Gracias por tu opinión!",
      "Reintentar", "Lo sentimos, algo salió mal. Inténtalo de nuevo.", "La respuesta se interrumpió.",
      "Demasiados mensajes. Espera {n} segundos.", "Estás sin conexión. Comprueba tu conexión e inténtalo de nuevo.",
      "Escribe tu mensaje..."],
    nl: ["Chat met ons", "Chat sluiten", "Bericht", "Versturen", "Aan het typen…", "Voorgestelde vragen", "Bronnen",
      "Nuttig", "Niet nuttig", "Vertel ons meer (optioneel)", "Feedback versturen", "Bedankt voor je feedback!",
      "Opnieuw proberen", "Sorry, er ging iets mis. Probeer het opnieuw.", "Het antwoord werd onderbroken.",
      "Te veel berichten. Wacht {n} seconden.", "Je bent offline. Controleer je verbinding en probeer het opnieuw.",
      "Typ je bericht..."],
    ar: ["تحدث معنا", "إغلاق المحادثة", "رسالة", "إرسال", "يكتب…", "أسئلة مقترحة", "المصادر",
      "مفيد", "غير مفيد", "أخبرنا المزيد (اختياري)", "إرسال الملاحظات", "شكرًا على ملاحظاتك!",
      "إعادة المحاولة", "عذرًا، حدث خطأ ما. يرجى المحاولة مرة أخرى.", "انقطعت الإجابة.",
      "رسائل كثيرة جدًا. يرجى الانتظار {n} ثانية.", "أنت غير متصل. تحقق من اتصالك وحاول مرة أخرى.",
      "اكتب رسالتك..."],
    he: ["שוחחו איתנו", "סגירת הצ׳אט", "הודעה", "שליחה", "מקליד…", "שאלות מוצעות", "מקורות",
      "מועיל", "לא מועיל", "ספרו לנו עוד (לא חובה)", "שליחת משוב", "תודה על המשוב!",
      "ניסיון חוזר", "מצטערים, משהו השתבש. נסו שוב.", "התשובה נקטעה.",
      "יותר מדי הודעות. אנא המתינו {n} שניות.", "אין חיבור לרשת. בדקו את החיבור ונסו שוב.",
      "הקלידו הודעה..."]
  };
  var KEYS = ["launcher", "close", "message", "send", "typing", "suggested", "sources", "up", "down",
    "comment", "sendFeedback", "thanks", "retry", "error", "broken", "limited", "offline", "placeholder"];
  var DEFAULT_PLACEHOLDER = "Type your message...";
  var lang = "en";

  function t(key, n) {
    var i = KEYS.indexOf(key);
    return (STRINGS[lang][i] || STRINGS.en[i]).replace("{n}", n);
  }

  function pickLanguage(setting) {
    var wanted = setting && setting !== "auto" ? [setting] : (navigator.languages || [navigator.language || "en"]);
    for (var i = 0; i < wanted.length; i++) {
      var code = String(wanted[i] || "").toLowerCase().split("-")[0];
      if (STRINGS[code]) return code;
    }
    return "en";
  }

  // ---------------------------------------------------------------- storage (after consent only)
  var interacted = false; // the visitor has sent something: from then on the token may be kept
  function area() {
    try { return storageMode === "none" ? null : storageMode === "session" ? window.sessionStorage : window.localStorage; }
    catch (e) { return null; }
  }
  function readStore() {
    try { var a = area(); return (a && JSON.parse(a.getItem(STORE_KEY) || "{}")) || {}; } catch (e) { return {}; }
  }
  function writeStore() {
    if (!interacted) return;
    try {
      var a = area();
      if (!a) return;
      if (ident.token || ident.session) a.setItem(STORE_KEY, JSON.stringify({ t: ident.token, s: ident.session, u: ident.user }));
      else a.removeItem(STORE_KEY);
    } catch (e) { /* storage blocked */ }
  }
  var stored = readStore();
  var ident = { token: stored.t || null, session: stored.s || null, user: stored.u || null, signature: null };
  function userId() {
    if (!ident.user) {
      var rnd = window.crypto && crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random().toString(36).slice(2);
      ident.user = "anon_" + rnd.replace(/-/g, "");
    }
    return ident.user;
  }

  // ---------------------------------------------------------------- public API
  var listeners = { message: [], lead: [] };
  var ui = null; // set once rendered
  var wantOpen = false;
  var api = {
    company: company,
    open: function () { if (ui) ui.toggle(true); else wantOpen = true; },
    close: function () { if (ui) ui.toggle(false); else wantOpen = false; },
    identify: function (who) {
      who = who || {};
      if (who.user_id && who.user_id !== ident.user) { ident.user = String(who.user_id); ident.session = null; }
      ident.signature = who.user_signature ? String(who.user_signature) : null;
    },
    on: function (event, fn) {
      if (listeners[event] && typeof fn === "function") listeners[event].push(fn);
      return api;
    }
  };
  window.ChatbotWidget = api;

  function emit(event, detail) {
    listeners[event].forEach(function (fn) { try { fn(detail); } catch (e) { console.error(e); } });
    if (ui) ui.host.dispatchEvent(new CustomEvent("chatbot:" + event, { detail: detail, bubbles: true, composed: true }));
  }

  // ---------------------------------------------------------------- DOM helpers
  function el(tag, attrs, kids) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) {
      var v = attrs[k];
      if (v == null || v === false) continue;
      if (k.slice(0, 2) === "on") e.addEventListener(k.slice(2), v);
      else if (k === "text") e.textContent = v;
      else e.setAttribute(k, v === true ? "" : v);
    }
    (kids || []).forEach(function (c) { if (c) e.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return e;
  }
  function clear(e) { while (e.firstChild) e.removeChild(e.firstChild); }

  var SVG = "http://www.w3.org/2000/svg";
  var ICONS = {
    chat: "M20 2H4a2 2 0 0 0-2 2v18l4-4h14a2 2 0 0 0 2-2V4a2 2 0 0 0-2-2z",
    close: "M19 6.4 17.6 5 12 10.6 6.4 5 5 6.4 10.6 12 5 17.6 6.4 19 12 13.4 17.6 19 19 17.6 13.4 12z",
    send: "M2 21 23 12 2 3v7l15 2-15 2z",
    up: "M1 21h4V9H1v12zm22-11a2 2 0 0 0-2-2h-6.3l1-4.6v-.3c0-.4-.2-.8-.5-1.1L14.2 1 7.6 7.6C7.2 8 7 8.4 7 9v10a2 2 0 0 0 2 2h9c.8 0 1.5-.5 1.8-1.2l3-7c.1-.3.2-.5.2-.8v-2z",
    down: "M15 3H6c-.8 0-1.5.5-1.8 1.2l-3 7c-.1.3-.2.5-.2.8v2a2 2 0 0 0 2 2h6.3l-1 4.6v.3c0 .4.2.8.5 1.1L9.8 23l6.6-6.6c.4-.4.6-.9.6-1.4V5a2 2 0 0 0-2-2zm4 0v12h4V3h-4z",
    retry: "M17.65 6.35A8 8 0 1 0 19.73 14h-2.08A6 6 0 1 1 12 6c1.66 0 3.14.69 4.22 1.78L13 11h7V4z"
  };
  function icon(name) {
    var s = document.createElementNS(SVG, "svg");
    s.setAttribute("viewBox", "0 0 24 24");
    s.setAttribute("aria-hidden", "true");
    s.setAttribute("focusable", "false");
    var p = document.createElementNS(SVG, "path");
    p.setAttribute("d", ICONS[name]);
    s.appendChild(p);
    return s;
  }

  // ---------------------------------------------------------------- safe Markdown subset
  // Paragraphs, **bold**, `code`, "- "/"1. " lists, [text](url) and bare links with http(s) or
  // mailto only; everything else stays text. Hand-written (a few lines) instead of a library so
  // the script stays small and has no dependency: it only ever creates elements and text nodes.
  function safeUrl(u, allowMail) {
    try {
      var x = new URL(u);
      if (x.protocol === "http:" || x.protocol === "https:" || (allowMail && x.protocol === "mailto:")) return x.href;
    } catch (e) { /* not an absolute URL */ }
    return null;
  }
  function link(href, text) {
    return el("a", { href: href, target: "_blank", rel: "noopener noreferrer nofollow" }, [text]);
  }
  function inline(text, into) {
    var re = /\*\*([^*\n]+?)\*\*|`([^`\n]+)`|\[([^\]\n]+)\]\(([^)\s]+)\)|(https?:\/\/[^\s<>()"']*[^\s<>()"'.,;:!?])/g;
    var last = 0, m, href;
    while ((m = re.exec(text))) {
      if (m.index > last) into.appendChild(document.createTextNode(text.slice(last, m.index)));
      if (m[1] != null) inline(m[1], into.appendChild(el("strong")));
      else if (m[2] != null) into.appendChild(el("code", { text: m[2] }));
      else if (m[3] != null) into.appendChild((href = safeUrl(m[4], true)) ? link(href, m[3]) : document.createTextNode(m[0]));
      else into.appendChild((href = safeUrl(m[5])) ? link(href, m[5]) : document.createTextNode(m[5]));
      last = re.lastIndex;
    }
    if (last < text.length) into.appendChild(document.createTextNode(text.slice(last)));
  }
  function markdown(text, into) {
    clear(into);
    var para = null, list = null;
    String(text).replace(/\r\n?/g, "\n").split("\n").forEach(function (line) {
      var m, kind = null, body;
      if (!line.trim()) { para = list = null; return; }
      if ((m = /^\s*[-*•]\s+(.*)$/.exec(line))) { kind = "ul"; body = m[1]; }
      else if ((m = /^\s*\d{1,3}[.)]\s+(.*)$/.exec(line))) { kind = "ol"; body = m[1]; }
      if (kind) {
        para = null;
        if (!list || list.tagName.toLowerCase() !== kind) list = into.appendChild(el(kind));
        inline(body, list.appendChild(el("li")));
      } else {
        list = null;
        if (para) para.appendChild(el("br")); else para = into.appendChild(el("p"));
        inline(line, para);
      }
    });
  }

  // ---------------------------------------------------------------- colours
  function rgbOf(c) {
    var m = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(String(c || "").trim());
    if (!m) return null;
    var h = m[1].length === 3 ? m[1].replace(/./g, "$&$&") : m[1];
    return [0, 2, 4].map(function (i) { return parseInt(h.slice(i, i + 2), 16); });
  }
  function luminance(rgb) {
    var c = rgb.map(function (v) { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  }
  function contrast(a, b) {
    var x = rgbOf(a), y = rgbOf(b);
    if (!x || !y) return null;
    var l1 = luminance(x), l2 = luminance(y);
    return (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
  }

  // The text colour used on the primary colour: the company's own when it is readable (WCAG AA,
  // 4.5:1), else white or near-black, whichever reads better (the brand colour itself is kept;
  // owner mode warns about the pair).
  function readableOn(primary, text) {
    var c = contrast(text, primary);
    if (c === null || c >= 4.5) return text;
    var w = contrast("#ffffff", primary), k = contrast("#111111", primary);
    return w >= k ? "#ffffff" : "#111111";
  }

  // ---------------------------------------------------------------- styles
  var CSS = [
    // the host element: nothing of the page's CSS reaches it (important rules inside a shadow
    // tree win over the page's important rules)
    ":host{all:initial!important;display:block!important;position:fixed!important;top:0!important;left:0!important;width:0!important;height:0!important;z-index:2147483647!important;visibility:visible!important;opacity:1!important;transform:none!important}",
    ".cb{all:initial;font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'Noto Sans','Liberation Sans',Arial,sans-serif;color:var(--fg);--p:#007bff;--s:#6c757d;--t:#fff;--bg:#fff;--fg:#1f1f1f;--r:12px}",
    ".cb *,.cb *::before,.cb *::after{box-sizing:border-box;margin:0;padding:0;border:0;font:inherit;color:inherit;background:none;letter-spacing:normal;text-transform:none;line-height:inherit}",
    "[hidden]{display:none!important}",
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}",
    "svg{width:22px;height:22px;fill:currentColor;flex:none}",
    "button,a,input,textarea,select{cursor:pointer;outline:none}",
    "input,textarea{cursor:text}",
    ":focus-visible{outline:3px solid #111!important;outline-offset:2px;box-shadow:0 0 0 2px #fff,0 0 0 5px #111}",
    ".bubble{position:fixed;display:flex;align-items:center;gap:8px;height:56px;min-width:56px;padding:0 17px;border-radius:28px;background:var(--p);color:var(--t);box-shadow:0 4px 14px rgba(0,0,0,.25);font-weight:600;font-size:15px;transition:transform .15s}",
    ".bubble:hover{transform:scale(1.04)}",
    ".panel{position:fixed;display:flex;flex-direction:column;width:370px;max-width:calc(100vw - 40px);height:560px;max-height:calc(100vh - 108px);background:var(--bg);color:var(--fg);border-radius:var(--r);box-shadow:0 8px 30px rgba(0,0,0,.25);overflow:hidden;animation:cbin .18s ease-out}",
    "@keyframes cbin{from{opacity:0;transform:translateY(8px)}}",
    "[data-pos$=right] .bubble,[data-pos$=right] .panel{right:20px}",
    "[data-pos$=left] .bubble,[data-pos$=left] .panel{left:20px}",
    "[data-pos^=bottom] .bubble{bottom:20px}[data-pos^=bottom] .panel{bottom:88px}",
    "[data-pos^=top] .bubble{top:20px}[data-pos^=top] .panel{top:88px}",
    ".head{display:flex;align-items:center;gap:10px;padding:12px 14px;background:var(--p);color:var(--t)}",
    ".logo{width:32px;height:32px;border-radius:50%;object-fit:cover;background:#fff}",
    ".title{flex:1;font-weight:700;font-size:19px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}",
    ".icon{display:inline-flex;align-items:center;justify-content:center;width:36px;height:36px;border-radius:50%}",
    ".log{flex:1;overflow-y:auto;padding:14px;display:flex;flex-direction:column;gap:10px}",
    ".msg{max-width:85%;padding:9px 13px;border-radius:var(--r);overflow-wrap:anywhere;align-self:flex-start;background:#f0f1f3;color:#1f1f1f}",
    ".msg.user{align-self:flex-end;background:var(--p);color:var(--t);white-space:pre-wrap}",
    ".msg p+p,.msg ul,.msg ol{margin-top:6px}.msg ul,.msg ol{padding-inline-start:20px}",
    ".msg strong{font-weight:700}.msg code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.9em;background:rgba(0,0,0,.08);padding:0 4px;border-radius:4px}",
    ".msg a{color:#0b57d0;text-decoration:underline}",
    ".msg.err{background:#fde8e8;color:#8a1111}",
    ".src{margin-top:8px;padding-top:6px;border-top:1px solid rgba(0,0,0,.12);font-size:12.5px}",
    ".src ul{list-style:none;padding:0;margin:2px 0 0}.nosrc .src{display:none}",
    ".fb{display:flex;align-items:center;gap:4px;margin-top:6px;font-size:12.5px;color:#444}",
    ".fb .icon{width:30px;height:30px;color:#555}.fb svg{width:17px;height:17px}",
    ".fb [aria-pressed=true]{color:var(--p);background:rgba(0,0,0,.07)}",
    ".fbf{display:flex;gap:6px;margin-top:6px}.fbf input{flex:1;min-width:0;border:1px solid #8a8a8a;border-radius:6px;padding:4px 8px;background:#fff;color:#1f1f1f}",
    ".btn{border-radius:6px;padding:5px 10px;background:var(--p);color:var(--t);font-weight:600}",
    ".btn2{border-radius:6px;padding:5px 10px;border:1px solid #767676;background:#fff;color:#1f1f1f}",
    ".retry{display:inline-flex;align-items:center;gap:6px;margin-top:8px}",
    ".typing{display:inline-flex;gap:4px;padding:4px 0}.typing i{width:7px;height:7px;border-radius:50%;background:#666;animation:cbdot 1s infinite alternate}",
    ".typing i:nth-child(2){animation-delay:.2s}.typing i:nth-child(3){animation-delay:.4s}",
    "@keyframes cbdot{to{opacity:.2}}",
    ".chips{display:flex;flex-wrap:wrap;gap:6px;padding:0 14px 10px}",
    ".chip{border:1.5px solid var(--s);border-radius:16px;padding:5px 11px;text-align:start;color:var(--fg);background:var(--bg)}",
    ".status{padding:0 14px;font-size:13px;color:#8a1111}.status:empty{display:none}",
    ".form{display:flex;align-items:center;gap:6px;border-top:2px solid var(--s);padding:8px}",
    ".form input{flex:1;min-width:0;padding:9px 10px;font-size:15px;color:var(--fg);border-radius:6px}",
    ".form input:focus-visible{outline-offset:-3px;box-shadow:none}",
    ".send{background:var(--p);color:var(--t)}.send:disabled{opacity:.6;cursor:default}",
    ".owner{position:fixed;top:20px;width:340px;max-width:calc(100vw - 40px);max-height:calc(100vh - 40px);overflow-y:auto;background:#fff;color:#1f1f1f;border-radius:12px;box-shadow:0 8px 30px rgba(0,0,0,.3);padding:16px;font-size:13.5px}",
    "[data-pos$=right] .owner{left:20px}[data-pos$=left] .owner{right:20px}",
    ".owner h2{font-size:16px;font-weight:700;margin-bottom:10px}",
    ".f{margin-bottom:10px}.f label{display:block;font-weight:600;margin-bottom:3px}",
    ".f input:not([type=checkbox]),.f select,.f textarea{display:block;width:100%;border:1px solid #767676;border-radius:6px;padding:6px 8px;background:#fff;color:#1f1f1f}",
    ".f textarea{min-height:60px;resize:vertical}",
    ".f.cbx label{display:flex;align-items:center;gap:8px}.f input[type=checkbox]{appearance:auto;width:16px;height:16px}",
    ".f [aria-invalid=true]{border-color:#b3261e;border-width:2px}",
    ".ferr{color:#b3261e;margin-top:3px}.ferr:empty,.warn:empty{display:none}.warn{color:#7a4b00;margin-top:3px}",
    ".row{display:flex;gap:8px;justify-content:flex-end;margin-top:12px}.ok{color:#1e6b2f;margin-top:8px}.ok:empty{display:none}",
    "@media (max-width:479.98px){.panel,.owner{top:0!important;bottom:0!important;left:0!important;right:0!important;width:100%;max-width:none;height:100%;max-height:none;border-radius:0}.open .bubble{display:none}.bubble .lbl{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}.bubble{padding:0;width:56px;justify-content:center}}",
    "@media (prefers-reduced-motion:reduce){*,*::before,*::after{animation:none!important;transition:none!important}}"
  ].join("\n");

  function adoptStyles(shadow) {
    try {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      shadow.adoptedStyleSheets = [sheet];
    } catch (e) {
      // browsers without constructed stylesheets (a strict CSP would block this one)
      shadow.appendChild(el("style", { text: CSS }));
    }
  }

  // ---------------------------------------------------------------- HTTP
  function request(method, path, body, headers) {
    var h = { "Accept": "application/json" };
    for (var k in headers || {}) h[k] = headers[k];
    if (body !== undefined) h["Content-Type"] = "application/json";
    return fetch(apiBase + path, { method: method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  }
  function readJson(res) {
    return res.json().catch(function () { return {}; }).then(function (j) {
      if (!res.ok) {
        var e = new Error((j && j.error && j.error.message) || ("HTTP " + res.status));
        e.status = res.status;
        e.field = j && j.error && j.error.field;
        e.code = j && j.error && j.error.code;
        e.retryAfter = parseInt(res.headers.get("Retry-After") || "", 10) || null;
        throw e;
      }
      return j;
    });
  }
  function keyHeaders() { return { "Authorization": "Bearer " + pk }; }

  // Read an SSE body: calls onDelta(text), resolves with the `done` data; rejects on an `error`
  // event or when the stream ends without `done` (a broken stream).
  function readStream(res, onDelta) {
    var reader = res.body.getReader(), decoder = new TextDecoder(), buf = "", done = null, got = false;
    function handle(block) {
      var event = "message", data = [];
      block.split("\n").forEach(function (l) {
        if (l.indexOf("event:") === 0) event = l.slice(6).trim();
        else if (l.indexOf("data:") === 0) data.push(l.slice(5).replace(/^ /, ""));
      });
      if (!data.length) return;
      var j = JSON.parse(data.join("\n"));
      if (event === "delta") { got = true; onDelta(String(j.text || "")); }
      else if (event === "done") done = j;
      else if (event === "error") {
        var e = new Error((j.error && j.error.message) || "error");
        e.status = j.status; e.code = j.error && j.error.code; e.field = j.error && j.error.field;
        e.broken = got && j.status !== 429; // cut off mid-answer
        throw e;
      }
    }
    function pump() {
      return reader.read().then(function (r) {
        if (!r.done) buf += decoder.decode(r.value, { stream: true }).replace(/\r\n?/g, "\n");
        var i;
        while ((i = buf.indexOf("\n\n")) >= 0) { handle(buf.slice(0, i)); buf = buf.slice(i + 2); }
        if (!r.done) return pump();
        if (buf.trim()) handle(buf);
        if (!done) { var e = new Error("broken"); e.broken = true; throw e; }
        return done;
      }, function (err) {
        // the connection dropped mid-answer
        var e = new Error(err && err.message || "broken");
        e.broken = got;
        throw e;
      });
    }
    return pump();
  }

  // Open (or resume) a session on the key flow; resolves with the session answer.
  function openSession() {
    var body = { user_id: ident.user || undefined, session_id: ident.session || undefined };
    return request("POST", "/api/chatbot/session", body, keyHeaders()).then(readJson).then(function (j) {
      ident.session = j.session_id;
      if (j.user_id) ident.user = j.user_id;
      return j;
    });
  }

  // One turn: resolves with the reply JSON ({message, message_id, sources, ...}).
  function ask(text, history, onDelta) {
    var start = pk && !ident.session ? openSession() : Promise.resolve();
    return start.then(function () {
      var path, body, headers = { "Accept": "text/event-stream, application/json", "Content-Type": "application/json" };
      if (pk) {
        path = "/api/chatbot/chat";
        body = { session_id: ident.session, message: text };
        headers.Authorization = "Bearer " + pk;
      } else {
        path = "/api/partner-chat/" + enc;
        body = { message: text, user_id: userId(), history: history, visitor_token: ident.token || undefined,
          user_signature: ident.signature || undefined };
      }
      return fetch(apiBase + path, { method: "POST", headers: headers, body: JSON.stringify(body) });
    }).then(function (res) {
      var type = res.headers.get("content-type") || "";
      if (res.ok && type.indexOf("text/event-stream") >= 0 && res.body && res.body.getReader) return readStream(res, onDelta);
      return readJson(res);
    });
  }

  function sendFeedback(messageId, rating, comment) {
    var body = { message_id: messageId, rating: rating };
    if (comment) body.comment = comment;
    if (pk) {
      body.session_id = ident.session;
      return request("POST", "/api/chatbot/feedback", body, keyHeaders()).then(readJson);
    }
    return request("POST", "/api/partner-chat/" + enc + "/feedback", body, { "X-Visitor-Token": ident.token || "" }).then(readJson);
  }

  // The stored conversation of this visitor (empty when there is none or the token is stale).
  function loadHistory() {
    if (pk) {
      if (!ident.session) return Promise.resolve([]);
      return openSession().then(function (j) { return j.resumed === false ? [] : (j.messages || []); });
    }
    if (!ident.token) return Promise.resolve([]);
    return request("GET", "/api/partner-chat/" + enc + "/history", undefined, { "X-Visitor-Token": ident.token })
      .then(readJson).then(function (j) { return j.messages || []; })
      .catch(function (e) {
        if (e.status === 401) { ident.token = null; interacted = true; writeStore(); interacted = false; }
        return [];
      });
  }

  // ---------------------------------------------------------------- the widget
  function render(settings, history) {
    var saved = settings; // the server's settings (owner mode previews drafts on top)
    var cur = settings;
    var messages = []; // {role, content, message_id} of this conversation
    var bindings = []; // [element, attribute|null, key] re-translated on a language change
    var busy = false;
    var isOpen = false;
    var restoring = false; // a stored conversation is being fetched
    var lastLead = null; // the visitor's lead as last reported (a `lead` event on each change)

    function tr(e, attr, key) {
      bindings.push([e, attr, key]);
      if (attr) e.setAttribute(attr, t(key)); else e.textContent = t(key);
      return e;
    }

    var host = el("div", { "data-chatbot-widget": company });
    var shadow = host.attachShadow({ mode: "open" });
    adoptStyles(shadow);
    var root = el("div", { "class": "cb" });
    shadow.appendChild(root);

    // header
    var logo = el("img", { "class": "logo", alt: "", hidden: true });
    // A logo that cannot be loaded is hidden, never shown as a broken image.
    logo.addEventListener("error", function () { logo.hidden = true; });
    var title = el("span", { "class": "title" });
    var closeBtn = tr(el("button", { type: "button", "class": "icon", onclick: function () { toggle(false); } }, [icon("close")]), "aria-label", "close");
    var head = el("div", { "class": "head" }, [logo, title, closeBtn]);

    // log, chips, status, form
    var log = el("div", { "class": "log", role: "log", "aria-live": "polite", tabindex: "0" });
    var welcome = el("div", { "class": "msg bot welcome" });
    log.appendChild(welcome);
    var chips = tr(el("div", { "class": "chips", role: "group" }), "aria-label", "suggested");
    var status = el("div", { "class": "status", role: "status" });
    var inputId = "cb-in-" + company;
    var input = el("input", { id: inputId, type: "text", maxlength: "4000", autocomplete: "off", dir: "auto" });
    var label = tr(el("label", { "for": inputId, "class": "sr" }), null, "message");
    var send = tr(el("button", { type: "submit", "class": "icon send" }, [icon("send")]), "aria-label", "send");
    var form = el("form", { "class": "form", onsubmit: function (ev) {
      ev.preventDefault();
      var text = input.value.trim();
      if (!text || busy) return;
      input.value = "";
      say(text);
    } }, [label, input, send]);
    var panelId = "cb-panel-" + company;
    var panel = el("div", { id: panelId, "class": "panel", role: "dialog", hidden: true }, [head, log, chips, status, form]);

    // launcher
    var bubbleLabel = el("span", { "class": "lbl" });
    var bubble = el("button", { type: "button", "class": "bubble", "aria-expanded": "false", "aria-controls": panelId,
      onclick: function () { toggle(!isOpen); } }, [icon("chat"), bubbleLabel]);

    root.appendChild(panel);
    root.appendChild(bubble);
    root.addEventListener("keydown", function (ev) {
      if (ev.key !== "Escape") return;
      if (owner && !owner.el.hidden) { owner.close(); return; }
      if (isOpen) { ev.stopPropagation(); toggle(false); }
    });

    function toggle(open) {
      if (open === isOpen) return;
      isOpen = open;
      panel.hidden = !open;
      root.classList.toggle("open", open);
      bubble.setAttribute("aria-expanded", String(open));
      if (open) {
        input.focus();
        log.scrollTop = log.scrollHeight;
      } else {
        bubble.focus();
      }
    }

    // ---- settings, applied live (owner mode previews drafts through the same function)
    function apply(s) {
      cur = s;
      var st = root.style;
      [["--p", s.primary_color], ["--s", s.secondary_color], ["--t", readableOn(s.primary_color, s.text_color)], ["--bg", s.background_color]]
        .forEach(function (p) { if (p[1]) st.setProperty(p[0], p[1]); else st.removeProperty(p[0]); });
      var bg = rgbOf(s.background_color);
      st.setProperty("--fg", bg && luminance(bg) < 0.3 ? "#f5f5f5" : "#1f1f1f");
      st.setProperty("--r", Math.max(0, Math.min(40, Number(s.border_radius) || 0)) + "px");
      var pos = ["bottom-right", "bottom-left", "top-right", "top-left"].indexOf(s.position) >= 0 ? s.position : "bottom-right";
      root.setAttribute("data-pos", pos);
      lang = pickLanguage(s.language);
      root.setAttribute("lang", lang);
      root.setAttribute("dir", lang === "ar" || lang === "he" ? "rtl" : "ltr");
      bindings.forEach(function (b) { if (b[1]) b[0].setAttribute(b[1], t(b[2])); else b[0].textContent = t(b[2]); });
      title.textContent = s.company_name || "";
      var src = s.company_logo && safeUrl(s.company_logo);
      logo.hidden = !src;
      if (src) logo.src = src; else logo.removeAttribute("src");
      var name = s.launcher_label || t("launcher");
      bubbleLabel.textContent = name;
      panel.setAttribute("aria-label", s.company_name ? name + ": " + s.company_name : name);
      markdown(s.welcome_message || "", welcome);
      welcome.hidden = !s.welcome_message;
      input.placeholder = !s.placeholder_text || s.placeholder_text === DEFAULT_PLACEHOLDER ? t("placeholder") : s.placeholder_text;
      root.classList.toggle("nosrc", s.show_sources === false);
      renderChips();
    }

    function renderChips() {
      clear(chips);
      var qs = Array.isArray(cur.suggested_questions) ? cur.suggested_questions.slice(0, 4) : [];
      chips.hidden = restoring || messages.length > 0 || !qs.length;
      qs.forEach(function (q) {
        chips.appendChild(el("button", { type: "button", "class": "chip", text: String(q), onclick: function () { if (!busy) say(String(q)); } }));
      });
    }

    // ---- messages
    function scroll() { log.scrollTop = log.scrollHeight; }

    function userLine(text) {
      log.appendChild(el("div", { "class": "msg user", dir: "auto", text: text }));
      scroll();
    }

    function sourcesOf(box, sources) {
      var seen = {}, items = [];
      (sources || []).forEach(function (s) {
        if (!s || !s.source || seen[s.source] || items.length >= 5) return;
        seen[s.source] = 1;
        var href = safeUrl(s.source), text = String(s.title || s.source);
        items.push(el("li", {}, [href ? link(href, text) : text]));
      });
      if (!items.length) return;
      box.appendChild(el("div", { "class": "src" }, [tr(el("div"), null, "sources"), el("ul", {}, items)]));
    }

    function feedbackOf(box, messageId, given) {
      if (!messageId) return;
      var bar = el("div", { "class": "fb" });
      var buttons = {};
      var formBox = null;
      function mark(rating) {
        ["up", "down"].forEach(function (r) { buttons[r].setAttribute("aria-pressed", String(r === rating)); });
      }
      ["up", "down"].forEach(function (rating) {
        buttons[rating] = tr(el("button", { type: "button", "class": "icon", "aria-pressed": "false", "data-rating": rating,
          onclick: function () {
            interacted = true;
            sendFeedback(messageId, rating).then(function () {
              mark(rating);
              if (formBox) formBox.remove();
              var comment = tr(el("input", { type: "text", maxlength: "2000", dir: "auto" }), "aria-label", "comment");
              tr(comment, "placeholder", "comment");
              formBox = el("form", { "class": "fbf", onsubmit: function (ev) {
                ev.preventDefault();
                var c = comment.value.trim();
                if (!c) return;
                sendFeedback(messageId, rating, c).then(function () {
                  formBox.replaceWith(tr(el("div", { "class": "fbf", role: "status" }), null, "thanks"));
                }, function (e) { status.textContent = e.message; });
              } }, [comment, tr(el("button", { type: "submit", "class": "btn2" }), null, "sendFeedback")]);
              box.appendChild(formBox);
            }, function (e) { status.textContent = e.message; });
          } }, [icon(rating)]), "aria-label", rating);
        bar.appendChild(buttons[rating]);
      });
      if (given && given.rating) mark(given.rating);
      box.appendChild(bar);
    }

    function botLine(reply, box) {
      box = box || el("div", { "class": "msg bot" });
      box.className = "msg bot";
      box.removeAttribute("aria-busy");
      var body = el("div", { "class": "txt", dir: "auto" });
      markdown(reply.content, body);
      clear(box);
      box.appendChild(body);
      sourcesOf(box, reply.sources);
      feedbackOf(box, reply.message_id, reply.feedback);
      if (!box.parentNode) log.appendChild(box);
      scroll();
      return box;
    }

    function failLine(box, err, retry) {
      box.className = "msg bot err";
      box.removeAttribute("aria-busy");
      clear(box);
      var text;
      if (err.status === 429) text = t("limited", err.retryAfter || 1);
      else if (!navigator.onLine) text = t("offline");
      else if (err.broken) text = t("broken");
      else if (err instanceof TypeError || !err.status) text = t("error");
      else text = err.message || t("error");
      box.appendChild(el("div", { role: "alert", text: text }));
      box.appendChild(el("button", { type: "button", "class": "btn2 retry", onclick: function () { box.remove(); retry(); } },
        [icon("retry"), tr(el("span"), null, "retry")]));
      if (!box.parentNode) log.appendChild(box);
      scroll();
    }

    function say(text) {
      interacted = true;
      status.textContent = "";
      userLine(text);
      messages.push({ role: "user", content: text });
      renderChips();
      emit("message", { role: "user", content: text });
      turn(text);
    }

    function turn(text) {
      busy = true;
      send.disabled = true;
      var box = el("div", { "class": "msg bot", "aria-busy": "true" });
      if (cur.show_typing_indicator !== false) {
        box.appendChild(tr(el("span", { "class": "typing", role: "img" }, [el("i"), el("i"), el("i")]), "aria-label", "typing"));
        log.appendChild(box);
        scroll();
      }
      var acc = "";
      var body = el("div", { "class": "txt", dir: "auto" });
      var history = messages.slice(-21, -1).map(function (m) { return { role: m.role, content: m.content }; });
      ask(text, history, function (delta) {
        if (!acc) { clear(box); box.appendChild(body); if (!box.parentNode) log.appendChild(box); }
        acc += delta;
        markdown(acc, body);
        scroll();
      }).then(function (j) {
        if (j.visitor_token) ident.token = j.visitor_token;
        if (j.session_id) ident.session = j.session_id;
        writeStore();
        var content = typeof j.message === "string" ? j.message : acc;
        if (!content.trim()) { var e = new Error("empty"); e.broken = true; throw e; }
        var reply = { role: "assistant", content: content, message_id: j.message_id, sources: j.sources };
        messages.push(reply);
        botLine(reply, box);
        emit("message", reply);
        var lead = j.lead ? JSON.stringify(j.lead) : null;
        if (lead && lead !== lastLead) { lastLead = lead; emit("lead", j.lead); }
      }).catch(function (err) {
        if (err.field === "visitor_token" || err.field === "X-Visitor-Token") { ident.token = null; writeStore(); }
        if (err.field === "session_id" || (pk && err.status === 401 && ident.session)) { ident.session = null; writeStore(); }
        failLine(box, err, function () { turn(text); });
      }).then(function () {
        busy = false;
        send.disabled = false;
      });
    }

    // ---- first paint at once; a stored conversation is added when it arrives (before any
    // new message of the visitor: sending waits for it)
    apply(settings);
    document.body.appendChild(host);
    busy = restoring = true;
    renderChips();
    history.then(function (list) {
      list.forEach(function (m) {
        if (!m || typeof m.content !== "string") return;
        if (m.role === "user") { userLine(m.content); messages.push({ role: "user", content: m.content }); }
        else if (m.role === "assistant") {
          var r = { role: "assistant", content: m.content, message_id: m.message_id, sources: m.sources, feedback: m.feedback };
          messages.push(r);
          botLine(r);
        }
      });
    }).then(function () {
      busy = restoring = false;
      renderChips();
    });

    var owner = null;
    ui = {
      host: host,
      toggle: toggle,
      apply: apply,
      saved: function () { return saved; },
      setSaved: function (s) { saved = s; apply(s); },
      root: root,
      openOwner: function (code) {
        if (!owner) owner = ownerMode(ui);
        owner.show(code);
      }
    };
    if (wantOpen || settings.auto_open) toggle(true);
  }

  // ---------------------------------------------------------------- owner mode
  var FIELDS = [
    ["company_name", "Company name", "text"],
    ["company_logo", "Logo URL", "text"],
    ["welcome_message", "Welcome message", "area"],
    ["placeholder_text", "Placeholder", "text"],
    ["launcher_label", "Launcher label", "text"],
    ["primary_color", "Primary colour", "text"],
    ["secondary_color", "Secondary colour", "text"],
    ["text_color", "Text colour (on primary)", "text"],
    ["background_color", "Background colour", "text"],
    ["border_radius", "Border radius (px)", "number"],
    ["position", "Position", ["bottom-right", "bottom-left", "top-right", "top-left"]],
    ["language", "Language", ["auto", "en", "de", "fr", "es", "nl", "ar", "he"]],
    ["suggested_questions", "Suggested questions (one per line, up to 4)", "lines"],
    ["auto_open", "Open automatically", "check"],
    ["show_typing_indicator", "Show typing indicator", "check"],
    ["show_sources", "Show sources", "check"]
  ];

  function ownerMode(w) {
    var token = null; // the ot_ token: memory only
    var box = el("div", { "class": "owner", role: "dialog", "aria-label": "Widget settings", hidden: true });
    w.root.appendChild(box);
    var inputs = {}, errors = {}, warn, ok, formErr;

    function fieldValue(f) {
      var i = inputs[f[0]];
      if (f[2] === "check") return i.checked;
      if (f[2] === "number") return i.value === "" ? null : Number(i.value);
      if (f[2] === "lines") return i.value.split("\n").map(function (l) { return l.trim(); }).filter(Boolean);
      if (f[0] === "company_logo") return i.value.trim() || null;
      return i.value;
    }
    function draft() {
      var d = {}, s = w.saved();
      for (var k in s) d[k] = s[k];
      FIELDS.forEach(function (f) { d[f[0]] = fieldValue(f); });
      return d;
    }
    function checkContrast(d) {
      var c = contrast(d.text_color, d.primary_color);
      warn.textContent = c !== null && c < 4.5
        ? "Low contrast: text on the primary colour is " + c.toFixed(2) + ":1 (at least 4.5:1 is needed to be readable)." : "";
    }
    function preview() {
      var d = draft();
      checkContrast(d);
      ok.textContent = "";
      w.apply(d);
    }
    function showError(field, message) {
      var name = String(field || "").split(/[[.]/)[0];
      if (errors[name]) {
        errors[name].textContent = message;
        inputs[name].setAttribute("aria-invalid", "true");
        inputs[name].focus();
      } else formErr.textContent = message;
    }
    function resetErrors() {
      formErr.textContent = "";
      FIELDS.forEach(function (f) { errors[f[0]].textContent = ""; inputs[f[0]].removeAttribute("aria-invalid"); });
    }

    function settingsForm() {
      clear(box);
      var s = w.saved();
      var kids = [el("h2", { text: "Widget settings" })];
      FIELDS.forEach(function (f) {
        var id = "cb-o-" + f[0], errId = id + "-err", i, v = s[f[0]];
        if (f[2] === "check") i = el("input", { type: "checkbox", id: id });
        else if (f[2] === "area" || f[2] === "lines") i = el("textarea", { id: id, rows: "3" });
        else if (Array.isArray(f[2])) i = el("select", { id: id }, f[2].map(function (o) { return el("option", { value: o, text: o }); }));
        else i = el("input", { type: f[2], id: id, autocomplete: "off" });
        if (f[2] === "check") i.checked = v !== false && (v === true || f[0] === "show_sources");
        else if (f[2] === "lines") i.value = (v || []).join("\n");
        else i.value = v == null ? (f[0] === "language" ? "auto" : "") : String(v);
        i.setAttribute("aria-describedby", errId);
        i.addEventListener("input", preview);
        i.addEventListener("change", preview);
        inputs[f[0]] = i;
        errors[f[0]] = el("div", { "class": "ferr", id: errId, "data-field": f[0] });
        var lab = el("label", { "for": id, text: f[1] });
        var wrap = el("div", { "class": f[2] === "check" ? "f cbx" : "f" }, f[2] === "check" ? [el("label", { "for": id }, [i, f[1]]), errors[f[0]]] : [lab, i, errors[f[0]]]);
        if (f[0] === "text_color") { warn = el("div", { "class": "warn", role: "status" }); wrap.appendChild(warn); }
        kids.push(wrap);
      });
      formErr = el("div", { "class": "ferr", role: "alert" });
      ok = el("div", { "class": "ok", role: "status" });
      kids.push(formErr, ok, el("div", { "class": "row" }, [
        el("button", { type: "button", "class": "btn2", text: "Cancel", onclick: function () { close(); } }),
        el("button", { type: "submit", "class": "btn", text: "Save" })
      ]));
      var f = el("form", { novalidate: true, onsubmit: save }, kids);
      box.appendChild(f);
      checkContrast(s);
      inputs.company_name.focus();
    }

    function save(ev) {
      ev.preventDefault();
      resetErrors();
      var d = draft(), s = w.saved(), patch = {};
      FIELDS.forEach(function (f) {
        if (JSON.stringify(d[f[0]]) !== JSON.stringify(s[f[0]])) patch[f[0]] = d[f[0]];
      });
      request("POST", "/api/widget-settings/" + enc, patch, { "Authorization": "Bearer " + token }).then(readJson).then(function (saved) {
        w.setSaved(saved);
        ok.textContent = "Saved.";
      }, function (e) {
        if (e.status === 401) { token = null; keyForm("Your owner session has expired. Enter the secret key again."); return; }
        showError(e.field, e.message);
      });
    }

    function exchange(body, headers) {
      return request("POST", "/api/widget-settings/" + enc + "/owner-token", body, headers).then(readJson).then(function (j) {
        token = j.token;
        settingsForm();
        w.toggle(true);
      });
    }

    function keyForm(message) {
      clear(box);
      var key = el("input", { type: "password", id: "cb-o-key", autocomplete: "off", spellcheck: "false" });
      var err = el("div", { "class": "ferr", role: "alert", text: message || "" });
      box.appendChild(el("form", { onsubmit: function (ev) {
        ev.preventDefault();
        var sk = key.value.trim();
        key.value = ""; // the secret key never outlives this call
        if (!sk) return;
        exchange(undefined, { "Authorization": "Bearer " + sk }).catch(function (e) { err.textContent = e.message; key.focus(); });
      } }, [
        el("h2", { text: "Widget settings" }),
        el("div", { "class": "f" }, [el("label", { "for": "cb-o-key", text: "Secret key (sk_…)" }), key]),
        err,
        el("div", { "class": "row" }, [
          el("button", { type: "button", "class": "btn2", text: "Cancel", onclick: function () { close(); } }),
          el("button", { type: "submit", "class": "btn", text: "Unlock" })
        ])
      ]));
      key.focus();
    }

    function close() {
      box.hidden = true;
      w.apply(w.saved()); // drop an unsaved preview
    }

    return {
      el: box,
      close: close,
      show: function (code) {
        box.hidden = false;
        if (token) settingsForm();
        else if (code) {
          keyForm("");
          exchange({ code: code }).catch(function (e) { keyForm(e.message); });
        } else keyForm("");
      }
    };
  }

  // #chatbot-admin or #chatbot-admin=oc_...: read once, then removed from the URL
  function checkOwnerHash() {
    var m = /^#chatbot-admin(?:=(oc_[A-Za-z0-9_-]+))?$/.exec(location.hash);
    if (!m || !ui) return;
    try { history.replaceState(null, "", location.pathname + location.search); } catch (e) { /* sandboxed */ }
    ui.openOwner(m[1]);
  }

  // ---------------------------------------------------------------- start
  function start() {
    var history = loadHistory().catch(function () { return []; });
    request("GET", "/api/widget-settings/" + enc).then(readJson).then(function (settings) {
      render(settings, history);
      checkOwnerHash();
      window.addEventListener("hashchange", checkOwnerHash);
    }).catch(function (e) {
      console.warn("chatbot widget: could not load settings for " + company + ": " + e.message);
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();

/*! chatbot widget: no dependencies.
 * <script src="https://HOST/widget.js" data-company="123" data-api-base="https://HOST" defer></script>
 * Loads /api/widget-settings/{company}, renders a floating chat bubble, and chats through
 * /api/partner-chat/{company} (streamed as server-sent events), with an anonymous user_id (a label)
 * and the visitor_token the server returns (which continues the conversation) kept in localStorage.
 */
(function () {
  "use strict";
  var script = document.currentScript || (function () {
    var s = document.querySelectorAll("script[data-company]");
    return s[s.length - 1];
  })();
  if (!script) return;
  var company = script.getAttribute("data-company");
  if (!company) { console.warn("chatbot widget: data-company is missing"); return; }
  var apiBase = (script.getAttribute("data-api-base") || new URL(script.src, location.href).origin).replace(/\/+$/, "");
  var enc = encodeURIComponent(company);
  var storeKey = "chatbot_user_" + company;
  var historyKey = "chatbot_history_" + company;
  var tokenKey = "chatbot_token_" + company;

  function visitorToken() {
    try { return localStorage.getItem(tokenKey) || undefined; } catch (e) { return undefined; }
  }
  function keepToken(t) {
    try {
      if (typeof t === "string" && t) localStorage.setItem(tokenKey, t);
      else localStorage.removeItem(tokenKey);
    } catch (e) { /* storage blocked */ }
  }

  function userId() {
    var id = null;
    try { id = localStorage.getItem(storeKey); } catch (e) { /* storage blocked */ }
    if (!id) {
      var rnd = (window.crypto && crypto.randomUUID) ? crypto.randomUUID() :
        String(Date.now()) + Math.random().toString(36).slice(2);
      id = "anon_" + rnd.replace(/-/g, "");
      try { localStorage.setItem(storeKey, id); } catch (e) { /* ignore */ }
    }
    return id;
  }

  function loadHistory() {
    try { return JSON.parse(sessionStorage.getItem(historyKey) || "[]").slice(-20); } catch (e) { return []; }
  }
  function saveHistory(h) {
    try { sessionStorage.setItem(historyKey, JSON.stringify(h.slice(-20))); } catch (e) { /* ignore */ }
  }

  function el(tag, style, text) {
    var e = document.createElement(tag);
    if (style) e.setAttribute("style", style);
    if (text != null) e.textContent = text;
    return e;
  }

  function render(s) {
    var radius = (s.border_radius == null ? 12 : s.border_radius) + "px";
    var pos = s.position || "bottom-right";
    var v = pos.indexOf("top") === 0 ? "top:20px;" : "bottom:20px;";
    var h = pos.indexOf("left") > 0 ? "left:20px;" : "right:20px;";
    var root = el("div", "position:fixed;" + v + h + "z-index:2147483000;font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;font-size:14px;");
    root.setAttribute("data-chatbot-widget", company);

    var bubble = el("button", "width:56px;height:56px;border-radius:50%;border:none;cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25);background:" + s.primary_color + ";color:" + s.text_color + ";font-size:24px;", "\uD83D\uDCAC");
    bubble.setAttribute("aria-label", "Open chat with " + (s.company_name || "us"));

    var panel = el("div", "display:none;flex-direction:column;width:340px;max-width:calc(100vw - 40px);height:460px;max-height:calc(100vh - 100px);background:" + s.background_color + ";border-radius:" + radius + ";box-shadow:0 8px 30px rgba(0,0,0,.25);overflow:hidden;margin-bottom:10px;");
    var header = el("div", "display:flex;align-items:center;gap:8px;padding:12px 14px;background:" + s.primary_color + ";color:" + s.text_color + ";font-weight:600;");
    if (s.company_logo) {
      var logo = el("img", "width:24px;height:24px;border-radius:50%;object-fit:cover;");
      logo.src = s.company_logo; logo.alt = "";
      header.appendChild(logo);
    }
    header.appendChild(el("span", "flex:1;", s.company_name || "Chat"));
    var close = el("button", "background:none;border:none;color:inherit;font-size:18px;cursor:pointer;", "\u00D7");
    close.setAttribute("aria-label", "Close chat");
    header.appendChild(close);

    var log = el("div", "flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:8px;");
    log.setAttribute("role", "log");
    log.setAttribute("aria-live", "polite");
    var form = el("form", "display:flex;border-top:1px solid #e5e5e5;");
    var input = el("input", "flex:1;border:none;padding:12px;font-size:14px;outline:none;background:transparent;color:#222;");
    input.placeholder = s.placeholder_text || "Type your message...";
    input.maxLength = 4000;
    var send = el("button", "border:none;padding:0 16px;cursor:pointer;font-weight:600;background:" + s.primary_color + ";color:" + s.text_color + ";", "Send");
    send.type = "submit";
    form.appendChild(input); form.appendChild(send);
    panel.appendChild(header); panel.appendChild(log); panel.appendChild(form);

    if (pos.indexOf("top") === 0) { root.appendChild(bubble); root.appendChild(panel); }
    else { root.appendChild(panel); root.appendChild(bubble); }
    root.style.display = "flex";
    root.style.flexDirection = "column";
    root.style.alignItems = pos.indexOf("left") > 0 ? "flex-start" : "flex-end";
    document.body.appendChild(root);

    function line(role, text) {
      var mine = role === "user";
      var b = el("div", "max-width:80%;padding:8px 12px;border-radius:" + radius + ";white-space:pre-wrap;word-wrap:break-word;line-height:1.4;" +
        (mine ? "align-self:flex-end;background:" + s.primary_color + ";color:" + s.text_color + ";"
              : "align-self:flex-start;background:#f1f1f3;color:#222;"), text);
      log.appendChild(b);
      log.scrollTop = log.scrollHeight;
      return b;
    }

    var history = loadHistory();
    if (s.welcome_message) line("assistant", s.welcome_message);
    history.forEach(function (m) { line(m.role, m.content); });

    var open = false;
    function toggle(o) { open = o; panel.style.display = o ? "flex" : "none"; if (o) input.focus(); }
    bubble.onclick = function () { toggle(!open); };
    close.onclick = function () { toggle(false); };
    if (s.auto_open) toggle(true);

    var busy = false;
    form.onsubmit = function (ev) {
      ev.preventDefault();
      var text = input.value.trim();
      if (!text || busy) return;
      busy = true; send.disabled = true; input.value = "";
      line("user", text);
      var out = line("assistant", s.show_typing_indicator === false ? "" : "\u2026");
      var first = true;
      ask(text, history.slice(), function (delta) {
        if (first) { out.textContent = ""; first = false; }
        out.textContent += delta;
        log.scrollTop = log.scrollHeight;
      }).then(function (reply) {
        out.textContent = reply;
        history.push({ role: "user", content: text }, { role: "assistant", content: reply });
        saveHistory(history);
      }).catch(function (err) {
        out.textContent = (err && err.message) || "Sorry, something went wrong. Please try again.";
        out.style.color = "#b00020";
      }).then(function () { busy = false; send.disabled = false; });
    };
  }

  // POST the message; stream the answer (SSE over fetch), falling back to JSON.
  function ask(message, history, onDelta) {
    return fetch(apiBase + "/api/partner-chat/" + enc, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "text/event-stream" },
      body: JSON.stringify({ message: message, user_id: userId(), history: history, visitor_token: visitorToken() })
    }).then(function (res) {
      var type = res.headers.get("content-type") || "";
      if (!res.ok || type.indexOf("text/event-stream") < 0 || !res.body || !res.body.getReader) {
        return res.json().then(function (j) {
          if (!res.ok) {
            // A token the server does not accept is dropped; the next message starts afresh.
            if (j && j.error && j.error.field === "visitor_token") keepToken(null);
            throw new Error((j && j.error && j.error.message) || ("HTTP " + res.status));
          }
          if (j.visitor_token) keepToken(j.visitor_token);
          return j.message;
        });
      }
      var reader = res.body.getReader();
      var decoder = new TextDecoder();
      var buf = "", final = null, acc = "";
      function handle(block) {
        var event = "message", data = "";
        block.split("\n").forEach(function (l) {
          if (l.indexOf("event:") === 0) event = l.slice(6).trim();
          else if (l.indexOf("data:") === 0) data += l.slice(5).replace(/^ /, "");
        });
        if (!data) return;
        var j; try { j = JSON.parse(data); } catch (e) { return; }
        if (event === "delta") { acc += j.text; onDelta(j.text); }
        else if (event === "done") { final = j.message; if (j.visitor_token) keepToken(j.visitor_token); }
        else if (event === "error") throw new Error((j.error && j.error.message) || "The assistant could not answer.");
      }
      function pump() {
        return reader.read().then(function (r) {
          if (r.done) { if (buf.trim()) handle(buf); return final != null ? final : acc; }
          buf += decoder.decode(r.value, { stream: true }).replace(/\r\n/g, "\n");
          var i;
          while ((i = buf.indexOf("\n\n")) >= 0) { handle(buf.slice(0, i)); buf = buf.slice(i + 2); }
          return pump();
        });
      }
      return pump();
    });
  }

  function start() {
    fetch(apiBase + "/api/widget-settings/" + enc, { headers: { "Accept": "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then(render)
      .catch(function (e) { console.warn("chatbot widget: could not load settings for " + company + ": " + e.message); });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();

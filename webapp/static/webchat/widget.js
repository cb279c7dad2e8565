/* TemoWeb Bots website chat widget.
 * Embed: <script src="https://<host>/webchat/widget.js" data-channel="<public key>" async></script>
 * Renders a chat bubble in a shadow root (the host page's CSS cannot break it), keeps a random visitor id in
 * localStorage so the conversation survives page loads, posts messages and polls for replies. Its colour and
 * greeting come from /webchat/<key>/config (set by the tenant on the channel page). */
(function () {
  "use strict";
  var script = document.currentScript || document.querySelector("script[data-channel]");
  if (!script || window.__temowebChat) return;
  window.__temowebChat = true;
  var key = script.getAttribute("data-channel");
  var title = script.getAttribute("data-title") || "Chat with us";
  var base = new URL(script.src, location.href).origin;
  var api = base + "/webchat/" + encodeURIComponent(key) + "/messages";
  var store = "temoweb:" + key + ":";
  function uid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID().replace(/-/g, "");
    return (Date.now().toString(36) + Math.random().toString(36).slice(2)).slice(0, 32);
  }
  var visitor = localStorage.getItem(store + "visitor");
  if (!visitor) { visitor = "v" + uid(); localStorage.setItem(store + "visitor", visitor); }
  var lastId = 0, pending = {}, timer = null, open = false;

  var host = document.createElement("div");
  host.id = "temoweb-chat";
  document.body.appendChild(host);
  var root = host.attachShadow({ mode: "open" });
  root.innerHTML =
    '<style>' +
    ':host{all:initial;--accent:#4f46e5}*{box-sizing:border-box;font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif}' +
    '.bubble{position:fixed;right:20px;bottom:20px;width:58px;height:58px;border-radius:50%;border:0;cursor:pointer;' +
    'background:var(--accent);color:#fff;display:flex;align-items:center;justify-content:center;box-shadow:0 6px 20px rgba(0,0,0,.2);z-index:2147483646}' +
    '.panel{position:fixed;right:20px;bottom:90px;width:340px;max-width:calc(100vw - 40px);height:460px;max-height:70vh;' +
    'background:#fff;border-radius:14px;box-shadow:0 12px 40px rgba(0,0,0,.22);display:none;flex-direction:column;overflow:hidden;z-index:2147483647}' +
    '.panel.open{display:flex}.head{background:var(--accent);color:#fff;padding:12px 16px;font-weight:600}' +
    '.log{flex:1;overflow-y:auto;padding:12px;background:#f7f7fb}' +
    '.msg{max-width:80%;padding:8px 12px;border-radius:14px;margin:4px 0;white-space:pre-wrap;word-wrap:break-word;font-size:14px;line-height:1.4}' +
    '.bot{background:#fff;border:1px solid #e5e7eb;color:#111}.visitor{background:var(--accent);color:#fff;margin-left:auto}' +
    '.pending{opacity:.6}.chips{display:flex;flex-wrap:wrap;gap:6px;margin:4px 0 8px}' +
    '.chip{border:1px solid var(--accent);color:var(--accent);background:#fff;border-radius:14px;padding:4px 10px;font-size:13px;cursor:pointer}' +
    'form{display:flex;border-top:1px solid #e5e7eb}input{flex:1;border:0;padding:12px;font-size:14px;outline:none}' +
    'button.send{border:0;background:#fff;color:var(--accent);font-weight:600;padding:0 14px;cursor:pointer}' +
    '.err{color:#b91c1c;font-size:12px;padding:0 12px 6px}</style>' +
    '<button class="bubble" part="bubble" aria-label="Open chat" data-testid="chat-bubble"><svg width="26" height="26" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true"><path d="M21 15a2 2 0 0 1-2 2H7l-4 4V5a2 2 0 0 1 2-2h14a2 2 0 0 1 2 2z"/></svg></button>' +
    '<div class="panel" role="dialog" aria-label="Chat" data-testid="chat-panel"><div class="head"></div>' +
    '<div class="log" data-testid="chat-log"></div><div class="err" data-testid="chat-error"></div>' +
    '<form><input data-testid="chat-input" placeholder="Type a message…" autocomplete="off" maxlength="2000">' +
    '<button class="send" type="submit" data-testid="chat-send">Send</button></form></div>';
  var $ = function (s) { return root.querySelector(s); };
  $(".head").textContent = title;
  var log = $(".log"), input = $("input"), err = $(".err");

  fetch(base + "/webchat/" + encodeURIComponent(key) + "/config")
    .then(function (r) { return r.ok ? r.json() : {}; })
    .then(function (config) {
      if (typeof config.color === "string" && /^#[0-9a-fA-F]{6}$/.test(config.color)) {
        host.style.setProperty("--accent", config.color);
      }
      if (typeof config.greeting === "string" && config.greeting) {
        var hello = document.createElement("div");
        hello.className = "msg bot";
        hello.setAttribute("data-testid", "chat-greeting");
        hello.textContent = config.greeting;
        log.insertBefore(hello, log.firstChild);
      }
    }).catch(function () {});

  function add(text, who, extra) {
    var el = document.createElement("div");
    el.className = "msg " + who + (extra ? " " + extra : "");
    el.textContent = text;
    log.appendChild(el);
    log.scrollTop = log.scrollHeight;
    return el;
  }
  function chips(buttons) {
    var old = root.querySelector(".chips"); if (old) old.remove();
    if (!buttons || !buttons.length) return;
    var box = document.createElement("div"); box.className = "chips";
    buttons.forEach(function (label) {
      var b = document.createElement("button"); b.className = "chip"; b.type = "button"; b.textContent = label;
      b.onclick = function () { send(label); }; box.appendChild(b);
    });
    log.appendChild(box); log.scrollTop = log.scrollHeight;
  }
  function poll() {
    return fetch(api + "?visitor_id=" + encodeURIComponent(visitor) + "&after=" + lastId)
      .then(function (r) { return r.ok ? r.json() : { messages: [] }; })
      .then(function (data) {
        (data.messages || []).forEach(function (m) {
          lastId = Math.max(lastId, m.id);
          if (m.from === "visitor" && pending[m.client_message_id]) {
            pending[m.client_message_id].classList.remove("pending");
            delete pending[m.client_message_id];
            return;
          }
          add(m.text, m.from === "visitor" ? "visitor" : "bot");
          if (m.from === "bot") chips(m.buttons);
        });
      }).catch(function () {});
  }
  function send(text) {
    text = (text || "").trim(); if (!text) return;
    var id = uid(); err.textContent = "";
    pending[id] = add(text, "visitor", "pending");
    chips([]);
    fetch(api, { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ visitor_id: visitor, text: text, client_message_id: id, page_url: location.href }) })
      .then(function (r) { if (!r.ok) return r.json().then(function (b) { throw new Error(b.error || r.status); }); })
      .catch(function (e) { err.textContent = "Not sent: " + e.message; });
  }
  function toggle() {
    open = !open; $(".panel").classList.toggle("open", open);
    if (open) { poll(); timer = setInterval(poll, 1500); input.focus(); } else { clearInterval(timer); }
  }
  $(".bubble").onclick = toggle;
  $("form").onsubmit = function (e) { e.preventDefault(); send(input.value); input.value = ""; };
  poll();
})();

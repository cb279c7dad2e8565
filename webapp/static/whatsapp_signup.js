/* WhatsApp Embedded Signup on /connect/whatsapp (webapp/connect/whatsapp.py), kept in a file because the
 * Content-Security-Policy refuses inline scripts.
 *
 * Loads Facebook's JS SDK from the form's data-sdk-url, FB.init()s it, and on the button's click opens
 * Meta's sign-up (FB.login with the configuration id and response_type=code). Meta reports the result
 * twice: a window "message" event from Facebook's origin (type WA_EMBEDDED_SIGNUP: FINISH with waba_id and
 * phone_number_id, CANCEL with the step, ERROR with a message), and FB.login's callback with the code
 * (valid 30 seconds). Either may come first; once both are in, the form is posted to the server, which
 * exchanges the code at once. A cancel, an error or a login without a code is posted too, so every ending
 * lands on a page that says what happened. */
(function () {
  "use strict";
  var form = document.getElementById("wa-signup");
  if (!form) return;
  var button = document.getElementById("wa-signup-start");
  var status = document.getElementById("wa-signup-status");
  var pin = form.elements.pin;
  var origins = JSON.parse(form.getAttribute("data-origins") || "[]");
  var WAIT_FOR_EVENT_MS = 8000; // the code lives 30 s: wait this long at most for the message event
  var sdkReady = false;
  var busy = false;
  var sent = false;
  var session = null; // the FINISH event's data
  var code = null;

  function text(name) { return form.getAttribute("data-text-" + name) || ""; }

  function say(message, kind) {
    status.textContent = message;
    status.className = "small mt-2" + (kind ? " text-" + kind : "");
  }

  function pinOk() { return /^[0-9]{6}$/.test(pin.value); }

  function refresh() { button.disabled = busy || !sdkReady || !pinOk(); }

  function post(fields) {
    if (sent) return;
    sent = true;
    Object.keys(fields).forEach(function (name) {
      var input = form.elements[name];
      if (input) input.value = fields[name] == null ? "" : String(fields[name]);
    });
    say(text("finishing"));
    form.submit();
  }

  function finish() {
    if (!code || !session) return;
    post({ outcome: "finish", code: code, waba_id: session.waba_id, phone_number_id: session.phone_number_id });
  }

  window.addEventListener("message", function (event) {
    if (origins.indexOf(event.origin) === -1) return;
    var data = event.data;
    if (typeof data === "string") {
      try { data = JSON.parse(data); } catch (e) { return; }
    }
    if (!data || data.type !== "WA_EMBEDDED_SIGNUP") return;
    var details = data.data || {};
    if (data.event === "CANCEL") {
      if (details.error_message) post({ outcome: "error", error_message: details.error_message });
      else post({ outcome: "cancelled", step: details.current_step });
    } else if (data.event === "ERROR") {
      post({ outcome: "error", error_message: details.error_message });
    } else if (typeof data.event === "string" && data.event.indexOf("FINISH") === 0) {
      session = details;
      finish();
    }
  });

  function onLogin(response) {
    var auth = response && response.authResponse;
    if (auth && auth.code) {
      code = auth.code;
      if (session) { finish(); return; }
      // No FINISH yet: give the message event a moment, then let the server say what is missing.
      setTimeout(function () { post({ outcome: "finish", code: code }); }, WAIT_FOR_EVENT_MS);
      return;
    }
    // Closed or not allowed: a CANCEL/ERROR event may still be on its way and says more.
    setTimeout(function () { post({ outcome: "denied" }); }, 1000);
  }

  button.addEventListener("click", function () {
    if (!pinOk()) { say(text("pin"), "danger"); pin.focus(); return; }
    busy = true;
    refresh();
    say(text("open"));
    window.FB.login(onLogin, {
      config_id: form.getAttribute("data-config-id"),
      response_type: "code",
      override_default_response_type: true,
      extras: { setup: {} }
    });
  });
  pin.addEventListener("input", refresh);

  window.fbAsyncInit = function () {
    window.FB.init({
      appId: form.getAttribute("data-app-id"),
      autoLogAppEvents: false,
      xfbml: false,
      version: form.getAttribute("data-version")
    });
    sdkReady = true;
    say("");
    refresh();
  };
  say(text("loading"));
  var script = document.createElement("script");
  script.src = form.getAttribute("data-sdk-url");
  script.async = true;
  script.crossOrigin = "anonymous";
  script.onerror = function () { say(text("sdk-failed"), "danger"); };
  document.head.appendChild(script);
})();

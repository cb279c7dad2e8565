/* A stand-in for Facebook's JS SDK (connect.facebook.net/en_US/sdk.js) in browser tests: the page loads it
 * from FACEBOOK_SDK_URL as it would the real one, over real HTTP from a loopback server.
 *
 * window.FB.init(options) records its options; window.FB.login(callback, options) opens the fake Embedded
 * Signup "dialog" in a hidden iframe served from the fake Facebook origin given as ?dialog=<origin> in this
 * script's own URL (the test points FACEBOOK_DIALOG_URL there too). That page, like Meta's popup, posts the
 * WA_EMBEDDED_SIGNUP message event (a JSON string) to the opening window, so the event's origin really is the
 * "Facebook" one the page checks; it then posts the login result to this SDK (type FAKE_SDK_LOGIN), which
 * calls the callback with it ({authResponse: {code}}, or {authResponse: null} for a cancel), as the real SDK
 * does. The login options are passed to the dialog in its URL, so the test can read what the page asked for.
 * window.__fakeFB keeps what the page called. Then, like the real SDK, it calls window.fbAsyncInit. */
(function () {
  "use strict";
  var script = document.currentScript;
  var dialog = new URL(script.src).searchParams.get("dialog") || "";
  var calls = (window.__fakeFB = { init: null, login: [] });

  function loginQuery(options) {
    var init = calls.init || {};
    return new URLSearchParams({
      app_id: init.appId || "",
      version: init.version || "",
      config_id: options.config_id || "",
      response_type: options.response_type || "",
      override_default_response_type: String(Boolean(options.override_default_response_type)),
      extras: JSON.stringify(options.extras || null)
    }).toString();
  }

  window.FB = {
    init: function (options) {
      calls.init = options || {};
    },
    login: function (callback, options) {
      options = options || {};
      calls.login.push(options);
      var frame = document.createElement("iframe");
      frame.hidden = true;
      frame.src = dialog + "/dialog/embedded-signup?" + loginQuery(options);
      function listen(event) {
        if (event.source !== frame.contentWindow) return;
        var data;
        try { data = JSON.parse(event.data); } catch (e) { return; }
        if (!data || data.type !== "FAKE_SDK_LOGIN") return;
        window.removeEventListener("message", listen);
        frame.remove();
        callback(data.response);
      }
      window.addEventListener("message", listen);
      document.body.appendChild(frame);
    }
  };
  if (typeof window.fbAsyncInit === "function") window.fbAsyncInit();
})();

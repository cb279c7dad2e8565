/* "Copy" buttons (the website chat's embed snippet), kept in a file because the Content-Security-Policy
 * refuses inline scripts (webapp/security.py):
 *   data-copy-target="<id>" on a button: copies the value (or text) of the element with that id and shows
 *   data-copied-text on the button for a moment. Without the Clipboard API (a plain-http page) the text is
 *   selected and copied the old way, so the person can also press Ctrl+C. */
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-copy-target]");
  if (!button) return;
  var source = document.getElementById(button.getAttribute("data-copy-target"));
  if (!source) return;
  var text = "value" in source ? source.value : source.textContent;
  var label = button.textContent;
  function done() {
    button.textContent = button.getAttribute("data-copied-text") || label;
    setTimeout(function () { button.textContent = label; }, 1500);
  }
  function fallback() {
    if (source.select) source.select();
    try { if (document.execCommand("copy")) done(); } catch (e) { /* the text stays selected */ }
  }
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done, fallback);
  } else {
    fallback();
  }
});

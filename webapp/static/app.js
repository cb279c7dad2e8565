/* Back-office behaviour kept out of inline handlers, which the Content-Security-Policy refuses
 * (scripts come from files only, webapp/security.py):
 *   data-toggle-target="<id>" on a button: shows/hides the element with that id (the collapsed navigation);
 *   data-autosubmit     on a select: submits its form when the choice changes (the language switch);
 *   data-confirm="text" on a form: asks before submitting (deleting a flow). */
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-toggle-target]");
  if (button) document.getElementById(button.getAttribute("data-toggle-target")).classList.toggle("show");
});
document.addEventListener("change", function (event) {
  if (event.target.matches("select[data-autosubmit]")) event.target.form.submit();
});
document.addEventListener("submit", function (event) {
  var question = event.target.getAttribute("data-confirm");
  if (question && !window.confirm(question)) event.preventDefault();
});

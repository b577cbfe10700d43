// Behaviour every page may use, declared in the markup (no inline handlers: the Content-Security-Policy
// allows no inline script).
//   <select data-autosubmit>  submits its form when the choice changes (a <noscript> button does it otherwise)
//   <a data-back href="...">  goes back in the history; the href is where it goes without JavaScript
document.addEventListener("change", function (event) {
  if (event.target.matches("select[data-autosubmit]") && event.target.form) event.target.form.submit();
});
document.addEventListener("click", function (event) {
  const link = event.target.closest("a[data-back]");
  if (link && window.history.length > 1) {
    event.preventDefault();
    window.history.back();
  }
});

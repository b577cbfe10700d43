// "Copy" buttons: <button data-copy="element-id"> copies that field's value and says so in place.
// Without JavaScript the buttons stay hidden and the field can be selected and copied by hand.
(function () {
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    const field = document.getElementById(button.dataset.copy);
    if (!field || !navigator.clipboard) return;
    button.hidden = false;
    button.setAttribute("aria-live", "polite");
    const label = button.textContent;
    button.addEventListener("click", async function () {
      try {
        await navigator.clipboard.writeText(field.value);
        button.textContent = button.dataset.copied;
      } catch (error) {
        field.select();
      }
      setTimeout(function () { button.textContent = label; }, 2000);
    });
  });
})();

// The card form: Stripe Elements + a SetupIntent. The card number never reaches our server.
// Used by the sign-up wizard (the form carries data-client-secret) and the billing page (it asks
// data-setup-url for a SetupIntent). On success the SetupIntent id is posted with the form.
(function () {
  const form = document.getElementById("card-form");
  if (!form || typeof Stripe === "undefined") return;
  const stripe = Stripe(form.dataset.key);
  const card = stripe.elements().create("card");
  card.mount("#card-element");
  const errors = document.getElementById("card-errors");
  const button = form.querySelector("button[type=submit]");
  const csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;

  async function clientSecret() {
    if (form.dataset.clientSecret) return form.dataset.clientSecret;
    const response = await fetch(form.dataset.setupUrl, {method: "POST", headers: {"X-CSRFToken": csrf}});
    const body = await response.json();
    if (!response.ok) throw new Error(body.error.message);
    return body.client_secret;
  }

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    errors.textContent = "";
    button.disabled = true;
    try {
      const result = await stripe.confirmCardSetup(await clientSecret(), {payment_method: {card: card}});
      if (result.error) throw new Error(result.error.message);
      form.querySelector("input[name=setup_intent]").value = result.setupIntent.id;
      form.submit();
    } catch (error) {
      errors.textContent = error.message;
      button.disabled = false;
    }
  });
})();

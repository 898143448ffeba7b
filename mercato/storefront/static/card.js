// Paying with a new card through Stripe's Payment Element, as Stripe documents it: the
// card details are typed into Stripe's own frame and go to Stripe only. The page saves
// the buyer's details, lets the server bring the PaymentIntent to the total, then
// confirms it in the browser; Stripe returns the buyer to the checkout's return address,
// where the server asks Stripe how the payment went before placing the order.
(function () {
  var form = document.getElementById('checkout');
  var mount = document.getElementById('payment-element');
  if (!form || !mount || typeof Stripe === 'undefined') return;
  var stripe = Stripe(mount.dataset.key);
  var elements = stripe.elements({
    clientSecret: mount.dataset.secret,
    appearance: { theme: 'stripe', variables: { colorPrimary: '#111827', borderRadius: '10px' } }
  });
  elements.create('payment', { layout: 'tabs' }).mount('#payment-element');
  var busy = false;

  function paysWithNewCard() {
    var chosen = form.querySelector('input[name=payment_method]:checked, input[type=hidden][name=payment_method]:not(:disabled)');
    return !chosen || chosen.value === 'card';
  }

  function buttons(text) {
    form.querySelectorAll('button.pay').forEach(function (b) {
      if (!b.dataset.label) b.dataset.label = b.textContent;
      b.textContent = text || b.dataset.label;
      b.disabled = !!text;
    });
  }

  function show(message, errors, kind) {
    busy = false;
    buttons(null);
    form.querySelectorAll('.field-error.js').forEach(function (e) { e.remove(); });
    var box = document.getElementById('message');
    if (!box) {
      box = document.createElement('div');
      box.id = 'message';
      box.setAttribute('role', 'alert');
      document.getElementById('hold').after(box);
    }
    box.className = kind || 'alert';
    box.textContent = message || 'Something went wrong. Try again.';
    Object.keys(errors || {}).forEach(function (name) {
      var input = form.querySelector('[name="' + name + '"]');
      var note = document.createElement('span');
      note.className = 'field-error js';
      note.textContent = errors[name];
      (input ? input.closest('label') || input : box).after(note);
    });
    box.scrollIntoView({ block: 'center' });
  }

  async function pay() {
    var checked = await elements.submit();
    if (checked.error) return show(checked.error.message);
    var body = new FormData(form);
    body.set('action', 'pay');
    var response = await fetch(mount.dataset.prepare, {
      method: 'POST', body: body, credentials: 'same-origin', headers: { Accept: 'application/json' }
    });
    var answer = await response.json().catch(function () { return {}; });
    if (answer.redirect) { window.location.assign(answer.redirect); return; }
    if (!response.ok) return show(answer.message, answer.errors);
    if (answer.changed) {
      // Tax, shipping or a code changed the total: show it; nothing was charged.
      form.querySelector('section.summary').outerHTML = answer.summary;
      form.querySelector('input[name=shown_total]').value = answer.shown_total;
      form.querySelectorAll('button.pay').forEach(function (b) { b.dataset.label = answer.pay; });
      return show(answer.message, null, 'notice');
    }
    // A new intent replaced the one this page mounted: start again on a fresh page.
    if (answer.intent !== mount.dataset.intent) { window.location.reload(); return; }
    await elements.fetchUpdates();
    var result = await stripe.confirmPayment({
      elements: elements, confirmParams: { return_url: answer.return_url }
    });
    // Reached only when Stripe could not confirm; on success it has left for return_url.
    show(result.error && result.error.message);
  }

  // Captures the submit before the page's own handler, for card payments only.
  form.addEventListener('submit', function (event) {
    var button = event.submitter;
    if (!button || button.value !== 'pay' || !paysWithNewCard()) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    if (busy) return;
    busy = true;
    buttons('Processing…');
    pay().catch(function () { show('We could not reach the payment provider. Try again.'); });
  }, true);
})();

// A small offline stand-in for Stripe.js v3, served in place of https://js.stripe.com/v3/
// by the browser tests. It offers the calls the checkout page makes - Stripe(key),
// stripe.elements({clientSecret}), elements.create('payment').mount(), elements.submit(),
// elements.fetchUpdates(), stripe.confirmPayment({elements, confirmParams}) - and, like
// Stripe.js, keeps the card fields in a frame of their own and sends them to
// https://api.stripe.com only (the tests route that to the local Stripe stand-in).
(function () {
  var API = 'https://api.stripe.com/v1';
  var FIELDS =
    '<style>body{margin:0;font:16px -apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,sans-serif;color:#30313d}' +
    'label{display:block;font-size:14px;color:#6b7280;margin:0 0 4px}' +
    'input{box-sizing:border-box;width:100%;font-size:16px;padding:12px;border:1px solid #e6e6e6;border-radius:10px;' +
    'box-shadow:0 1px 1px rgba(0,0,0,.03),0 3px 6px rgba(0,0,0,.02);margin-bottom:12px}' +
    '.two{display:grid;grid-template-columns:1fr 1fr;gap:12px}.tab{display:inline-block;border:2px solid #111827;' +
    'border-radius:10px;padding:8px 14px;font-size:14px;font-weight:600;margin-bottom:12px}</style>' +
    '<div class="tab">Card</div>' +
    '<label>Card number<input name="number" inputmode="numeric" autocomplete="cc-number" placeholder="1234 1234 1234 1234"></label>' +
    '<div class="two"><label>Expiration<input name="expiry" placeholder="MM / YY"></label>' +
    '<label>Security code<input name="cvc" placeholder="CVC"></label></div>';

  function Elements(stripe, options) {
    this.stripe = stripe;
    this.clientSecret = options.clientSecret;
    this.frame = null;
  }
  Elements.prototype.create = function (type) {
    if (type !== 'payment' && type !== 'card') throw new Error('fake Stripe.js: no ' + type + ' element');
    var elements = this;
    return {
      mount: function (selector) {
        var frame = document.createElement('iframe');
        frame.title = 'Secure payment input frame';
        frame.style.cssText = 'width:100%;height:190px;border:0;display:block';
        frame.srcdoc = FIELDS;
        document.querySelector(selector).appendChild(frame);
        elements.frame = frame;
      },
      on: function () {}
    };
  };
  Elements.prototype.field = function (name) {
    var input = this.frame.contentDocument.querySelector('input[name=' + name + ']');
    return (input.value || '').replace(/\s+/g, '');
  };
  Elements.prototype.submit = function () {
    var number = this.field('number');
    if (!/^\d{15,16}$/.test(number)) {
      return Promise.resolve({ error: { type: 'validation_error', message: 'Your card number is incomplete.' } });
    }
    return Promise.resolve({});
  };
  Elements.prototype.fetchUpdates = function () { return Promise.resolve({}); };

  function FakeStripe(key) {
    if (!(this instanceof FakeStripe)) return new FakeStripe(key);
    this.key = key;
  }
  FakeStripe.prototype.elements = function (options) { return new Elements(this, options || {}); };
  FakeStripe.prototype.confirmPayment = function (options) {
    var elements = options.elements;
    var secret = elements.clientSecret;
    var intent = secret.split('_secret_')[0];
    var body = new URLSearchParams({
      key: this.key, client_secret: secret, return_url: options.confirmParams.return_url,
      'payment_method_data[type]': 'card',
      'payment_method_data[card][number]': elements.field('number'),
      'payment_method_data[card][cvc]': elements.field('cvc')
    });
    return fetch(API + '/payment_intents/' + intent + '/confirm', { method: 'POST', body: body })
      .then(function (response) { return response.json(); })
      .then(function (answer) {
        if (answer.error) return { error: answer.error };
        if (answer.status !== 'succeeded') {
          return { error: { type: 'invalid_request_error', message: 'fake Stripe.js: status ' + answer.status } };
        }
        // As Stripe.js does after a confirmation: off to return_url, naming the intent.
        var back = new URL(options.confirmParams.return_url);
        back.searchParams.set('payment_intent', answer.id);
        back.searchParams.set('payment_intent_client_secret', secret);
        back.searchParams.set('redirect_status', 'succeeded');
        window.location.assign(back.toString());
        return new Promise(function () {});
      });
  };
  window.Stripe = FakeStripe;
})();

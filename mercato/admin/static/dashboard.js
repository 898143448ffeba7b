// Behaviour of dashboard forms, here rather than in inline handlers (the content
// security policy runs no inline handler).
//   <form data-confirm="Cancel order #1001?">: asks before sending.
//   {action} and {count} in the message: the form's chosen action and how many of its
//   checkboxes are ticked.
//   <input type="checkbox" data-select-all="CSS selector">: ticks or unticks them all.
document.addEventListener('submit', function (event) {
  var form = event.target, message = form.dataset && form.dataset.confirm;
  if (!message) return;
  var chosen = form.elements.action ? form.elements.action.value : '';
  message = message.replace('{action}', chosen)
    .replace('{count}', form.querySelectorAll('input[type=checkbox]:checked:not([data-select-all])').length);
  if (!window.confirm(message)) event.preventDefault();
});
document.addEventListener('click', function (event) {
  var box = event.target, selector = box.dataset && box.dataset.selectAll;
  if (!selector) return;
  document.querySelectorAll(selector).forEach(function (c) { c.checked = box.checked; });
});
// A link to a field (the channel to-do list's "Fix"): the field gets the keyboard.
window.addEventListener('load', function () {
  var target = location.hash && document.getElementById(decodeURIComponent(location.hash.slice(1)));
  if (target && target.focus) target.focus();
});
// <input type="file" data-max-bytes="N" accept="...">: a file too large, or not of a
// type taken, is said at once, before anything is sent (the server checks again).
document.addEventListener('change', function (event) {
  var input = event.target, most = input.dataset && input.dataset.maxBytes;
  if (!most || !input.files) return;
  var file = input.files[0], said = '';
  if (file && file.size > +most) {
    said = 'This file is ' + (file.size / 1048576).toFixed(1) + ' MB; images are at most ' +
      Math.floor(most / 1048576) + ' MB.';
  } else if (file && input.accept && input.accept.split(',').indexOf(file.type) < 0) {
    said = 'Choose a JPEG, PNG, WebP or GIF image.';
  }
  input.setCustomValidity(said);
  if (said) input.reportValidity();
});
// <form data-check="URL">: as the merchant types, the form is checked by the server's
// own rules (nothing saved) and each refusal shown under its field
// (<div data-error-for="field name">); one for no field on the page goes to
// data-error-for="". A slow answer overtaken by a newer one is dropped.
(function () {
  var timer = null, asked = 0;
  function show(form, errors) {
    var placed = {};
    form.querySelectorAll('[data-error-for]').forEach(function (box) {
      var name = box.dataset.errorFor, said = errors[name] || '';
      box.textContent = said;
      var field = name && form.elements[name];
      if (field && field.setAttribute) {
        if (said) { field.setAttribute('aria-invalid', 'true'); field.classList.add('invalid'); }
        else { field.removeAttribute('aria-invalid'); field.classList.remove('invalid'); }
      }
      if (said) placed[name] = true;
    });
    var rest = Object.keys(errors).filter(function (n) { return !placed[n]; });
    var summary = form.querySelector('[data-error-for=""]');
    if (summary && rest.length) {
      summary.textContent = rest.map(function (n) { return (n ? n + ': ' : '') + errors[n]; }).join('; ');
    }
  }
  function check(form) {
    var mine = ++asked;
    fetch(form.dataset.check, { method: 'POST', body: new FormData(form), credentials: 'same-origin',
                                headers: { 'Accept': 'application/json' } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (answer) { if (answer && mine === asked) show(form, answer.errors || {}); })
      .catch(function () {});
  }
  document.addEventListener('input', function (event) {
    var form = event.target.form;
    if (!form || !form.dataset.check) return;
    clearTimeout(timer);
    timer = setTimeout(function () { check(form); }, 400);
  });
})();
// <div data-shown-for="kind=buy_x_get_y,tiered">: shown only while the form's <select
// name="kind"> has one of these values (the offer form's fields of one kind); a field
// hidden is still sent, and the server ignores it for the other kinds.
function showForKind(form) {
  form.querySelectorAll('[data-shown-for]').forEach(function (part) {
    var rule = part.dataset.shownFor.split('='), field = form.elements[rule[0]];
    if (field) part.hidden = rule[1].split(',').indexOf(field.value) < 0;
  });
}
document.addEventListener('change', function (event) {
  if (event.target.form && event.target.form.querySelector('[data-shown-for]')) showForKind(event.target.form);
});
document.querySelectorAll('form').forEach(function (form) {
  if (form.querySelector('[data-shown-for]')) showForKind(form);
});

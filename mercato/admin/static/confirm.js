// A form with data-confirm asks before it is sent (inline handlers are not allowed by
// the content security policy).
document.addEventListener('submit', function (event) {
  var message = event.target.dataset && event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});

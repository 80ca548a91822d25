// Keyboard shortcuts of the review pages: o / v / u post a verdict, n skips to the next record, Esc leaves the note.
// A key is ignored while typing in a field, so a note can hold these letters.
document.addEventListener('keydown', function (event) {
  if (event.ctrlKey || event.metaKey || event.altKey) {
    return;
  }
  var field = event.target.closest && event.target.closest('input, textarea, select');
  if (field) {
    if (event.key === 'Escape') {
      field.blur();
    }
    return;
  }
  var button = document.querySelector('button[data-key="' + event.key + '"]');
  if (button) {
    event.preventDefault();
    button.form.requestSubmit(button);
  }
});

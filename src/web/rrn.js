/* The workspace's one script, served from the binary (/assets/rrn.js). Every page works
   without it; with it:
   - a form with data-confirm asks "are you sure" before it is sent (Undo, Reopen, Close);
   - the case list's "Find by reference" hides, as you type, the rows of the page whose
     reference does not match (the Show cases button still filters on the server). */
(function () {
  'use strict';

  document.addEventListener('submit', function (event) {
    var form = event.target;
    var question = form && form.getAttribute && form.getAttribute('data-confirm');
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });

  var find = document.getElementById('find');
  var table = document.querySelector('table[data-filter-rows]');
  var status = document.getElementById('filter-status');
  if (!find || !table || !status) {
    return;
  }
  var rows = Array.prototype.slice.call(table.querySelectorAll('tbody tr'));
  var timer = null;
  function filter() {
    var typed = find.value.trim().toLowerCase();
    var shown = 0;
    rows.forEach(function (row) {
      var reference = row.getAttribute('data-reference') || '';
      var match = typed === '' || reference.toLowerCase().indexOf(typed) !== -1;
      row.hidden = !match;
      if (match) {
        shown += 1;
      }
    });
    window.clearTimeout(timer);
    // Said once the typing pauses, so a screen reader is not interrupted at every key.
    timer = window.setTimeout(function () {
      status.textContent = typed === ''
        ? ''
        : shown + ' of the ' + rows.length + ' cases on this page match ' + find.value.trim();
    }, 400);
  }
  find.addEventListener('input', filter);
}());

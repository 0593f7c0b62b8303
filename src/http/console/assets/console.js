// Rollcall console: the few behaviours plain HTML lacks. No inline code (the CSP forbids
// it); everything is wired by data- attributes.
document.addEventListener("click", function (event) {
  var target = event.target.closest("[data-check-all],[data-check-none],[data-open-dialog],[data-close-dialog],[data-drop]");
  if (!target) return;
  if (target.dataset.checkAll || target.dataset.checkNone) {
    var group = document.getElementById(target.dataset.checkAll || target.dataset.checkNone);
    var on = !!target.dataset.checkAll;
    group.querySelectorAll("input[type=checkbox]").forEach(function (box) {
      if (box.checked !== on) {
        box.checked = on;
        box.dispatchEvent(new Event("change", { bubbles: true }));
      }
    });
  } else if (target.dataset.openDialog) {
    document.getElementById(target.dataset.openDialog).showModal();
  } else if (target.dataset.closeDialog) {
    document.getElementById(target.dataset.closeDialog).close();
  } else if (target.dataset.drop) {
    var row = document.getElementById(target.dataset.drop);
    if (row) {
      row.remove();
      var form = document.getElementById("bulk-form");
      if (form) form.dispatchEvent(new Event("change", { bubbles: true }));
    }
  }
});

// "Select all" of a table of checkboxes.
document.addEventListener("change", function (event) {
  var all = event.target.closest("[data-select-all]");
  if (!all) return;
  document.querySelectorAll("input[name=" + all.dataset.selectAll + "]").forEach(function (box) {
    box.checked = all.checked;
  });
});

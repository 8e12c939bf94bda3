// The shell's few behaviours: the phone menu, dismissible messages, dialogs and select-all boxes.
// Delegated, so they work on content htmx swaps in later; no inline handlers (the CSP forbids them).
(function () {
  "use strict";
  var root = document.documentElement;

  function setNav(open) {
    var toggle = document.querySelector("[data-nav-toggle]");
    document.body.classList.toggle("nav-open", open);
    if (toggle) {
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      toggle.setAttribute("aria-label", open ? "Close menu" : "Open menu");
    }
  }

  function dismiss(alert) {
    alert.classList.add("is-leaving");
    window.setTimeout(function () { alert.remove(); }, 200);
  }

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-nav-toggle]")) {
      setNav(!document.body.classList.contains("nav-open"));
    } else if (event.target.closest("[data-nav-close]")) {
      setNav(false);
    } else if (event.target.closest("[data-dismiss]")) {
      dismiss(event.target.closest(".alert"));
    } else if (event.target.closest("[data-open-dialog]")) {
      // A link that opens its form in a dialog; without script it goes to the form's own page.
      var dialog = document.getElementById(event.target.closest("[data-open-dialog]").dataset.openDialog);
      if (dialog) {
        event.preventDefault();
        dialog.showModal();
      }
    } else if (event.target.closest("[data-dialog-close]")) {
      event.target.closest("dialog").close();
    }
  });

  // A "select all" box ticks or clears the boxes named in data-check-all within its form.
  document.addEventListener("change", function (event) {
    var all = event.target.closest("[data-check-all]");
    if (!all) return;
    (all.form || document).querySelectorAll("input[name='" + all.dataset.checkAll + "']").forEach(function (box) {
      box.checked = all.checked;
    });
  });

  // Content loaded into a dialog by htmx, then the dialog opened (instead of hx-on, which needs eval).
  document.addEventListener("htmx:afterRequest", function (event) {
    var opener = event.target.closest && event.target.closest("[data-open-dialog-after-request]");
    var dialog = opener && document.getElementById(opener.dataset.openDialogAfterRequest);
    if (dialog && !dialog.open) dialog.showModal();
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && document.body.classList.contains("nav-open")) {
      setNav(false);
    }
  });

  root.classList.remove("no-js");
  root.classList.add("js");
})();

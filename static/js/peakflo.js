// The shell's few behaviours: the phone menu and dismissible messages. Delegated, so they work
// on content htmx swaps in later.
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
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && document.body.classList.contains("nav-open")) {
      setNav(false);
    }
  });

  root.classList.remove("no-js");
  root.classList.add("js");
})();

// A table too wide for the screen scrolls inside its .table-wrap. Keyboard users can scroll it
// only if the box takes focus, so a box that overflows becomes a named, focusable region (WCAG
// 2.1.1; axe's scrollable-region-focusable). Boxes that fit stay out of the tab order.
(function () {
  "use strict";

  function label(wrap) {
    var caption = wrap.querySelector("caption");
    var section = wrap.closest("section");
    var heading = section && section.querySelector("h2, h3");
    var title = caption || heading || document.querySelector("h1");
    return ((title && title.textContent) || "Table").replace(/\s+/g, " ").trim();
  }

  function update() {
    document.querySelectorAll(".table-wrap").forEach(function (wrap) {
      if (wrap.scrollWidth > wrap.clientWidth) {
        wrap.setAttribute("tabindex", "0");
        wrap.setAttribute("role", "region");
        wrap.setAttribute("aria-label", label(wrap) + " (scrolls sideways)");
      } else if (wrap.getAttribute("role") === "region") {
        wrap.removeAttribute("tabindex");
        wrap.removeAttribute("role");
        wrap.removeAttribute("aria-label");
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", update);
  } else {
    update();
  }
  window.addEventListener("resize", update);
})();

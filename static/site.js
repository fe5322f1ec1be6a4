/* Progressive keyboard help; the site works the same without it.
   "/" focuses the search box; j/k (or arrow keys once a result is focused) move
   through the results; Escape leaves the search box. No inline script (CSP). */
(function () {
  "use strict";

  function typing(el) {
    if (!el) return false;
    var tag = el.tagName;
    return el.isContentEditable || tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT";
  }

  function resultLinks() {
    return Array.prototype.slice.call(document.querySelectorAll(".hits .hit-title a"));
  }

  function move(step) {
    var links = resultLinks();
    if (!links.length) return false;
    var i = links.indexOf(document.activeElement);
    var next = i < 0 ? (step > 0 ? 0 : links.length - 1) : Math.min(links.length - 1, Math.max(0, i + step));
    links.forEach(function (a) { a.closest(".hit").classList.remove("is-current"); });
    links[next].closest(".hit").classList.add("is-current");
    links[next].focus();
    links[next].scrollIntoView({ block: "nearest" });
    return true;
  }

  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    var box = document.getElementById("q");
    if (e.key === "Escape" && document.activeElement === box) { box.blur(); return; }
    if (typing(document.activeElement)) return;
    var inResults = resultLinks().indexOf(document.activeElement) >= 0;
    if (e.key === "/" && box) {
      e.preventDefault();
      box.focus();
      box.select();
    } else if (e.key === "j" || (inResults && e.key === "ArrowDown")) {
      if (move(1)) e.preventDefault();
    } else if (e.key === "k" || (inResults && e.key === "ArrowUp")) {
      if (move(-1)) e.preventDefault();
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    var hint = document.querySelector(".kbd-hint");
    if (hint) hint.hidden = false;
  });
})();

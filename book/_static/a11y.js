/* The site for every reader (see a11y.css and tests/test_site_a11y.py).
   Formulas are out of the tab order (mathjax3_config in _config.yml), but a display formula wider than its
   column scrolls sideways, and a keyboard user must be able to scroll it too (WCAG 2.1.1): such a formula,
   and only such, becomes a tab stop. Checked again when the window changes size (a phone turned sideways). */
(function () {
  function wideFormulasFocusable() {
    document.querySelectorAll('mjx-container[display="true"]').forEach(function (formula) {
      if (formula.scrollWidth > formula.clientWidth + 1) {
        formula.setAttribute("tabindex", "0");
      } else if (formula.getAttribute("tabindex") === "0") {
        formula.removeAttribute("tabindex");
      }
    });
  }
  function whenTypeset() {
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
      MathJax.startup.promise.then(wideFormulasFocusable);
    }
  }
  /* A page with animations gets a second skip link, next to the theme's "Skip to main content": Tab,
     Tab, Enter, and the next Tab is on the player's slider, past every link and code cell before it. */
  function skipLinksToAnimations() {
    var players = document.querySelectorAll("article div.animation");
    var skip = document.querySelector("#pst-skip-link, .skip-link");
    if (!players.length || !skip) return;
    players.forEach(function (player, i) {
      if (!player.id) player.id = "animation-" + (i + 1);
      player.setAttribute("tabindex", "-1"); /* the link moves the focus into the player */
      var link = document.createElement("a");
      link.href = "#" + player.id;
      link.className = "skip-to-animation";
      link.textContent = players.length === 1 ? "Skip to the animation" : "Skip to animation " + (i + 1);
      skip.appendChild(link);
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", skipLinksToAnimations);
  } else {
    skipLinksToAnimations();
  }
  window.addEventListener("load", whenTypeset);
  var resized = null;
  window.addEventListener("resize", function () {
    clearTimeout(resized);
    resized = setTimeout(wideFormulasFocusable, 200);
  });
})();

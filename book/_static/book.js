/* What the book's pages do on top of sphinx-book-theme 1.3 (pydata-sphinx-theme 0.17). Loaded on every
 * page by _config.yml (html_js_files); styles in book.css. No remote resources.
 *
 * - Figures a cell draws open full size on a click: each image is wrapped in a plain link to its own
 *   file, so it works with the keyboard, a middle click (new tab) and pinch-zoom on a phone.
 * - A figure or a display equation wider than the column scrolls sideways inside its own frame, and
 *   the frame fades on each side that hides more (classes nma-more-left / nma-more-right). The keyboard
 *   reaches each scroller through what it holds: a figure's link, MathJax's focusable formula.
 * - Accessible names that say what the controls show (axe-core rules label-content-name-mismatch and
 *   region): the theme's search field and colour-mode button, the solution toggles, the sidebar.
 */
(() => {
  "use strict";

  // Images of cell outputs and figures in the page's text; an image already inside a link (the Colab
  // badge) keeps its own link.
  const FIGURE_IMAGES = ".bd-article .cell_output img, .bd-article figure img";
  const DISPLAY_MATH = '.bd-article div.math mjx-container[display="true"]';

  /** Keep a frame's fade classes in step with how far its scroller can still scroll each way. */
  function followScrolling(frame, scroller) {
    const update = () => {
      const hidden = scroller.scrollWidth - scroller.clientWidth;
      const overflows = hidden > 1;
      frame.classList.toggle("nma-overflows", overflows);
      frame.classList.toggle("nma-more-left", overflows && scroller.scrollLeft > 1);
      frame.classList.toggle("nma-more-right", overflows && scroller.scrollLeft < hidden - 1);
    };
    scroller.addEventListener("scroll", update, { passive: true });
    const resized = new ResizeObserver(update);
    resized.observe(scroller);
    if (scroller.firstElementChild) resized.observe(scroller.firstElementChild);
    update();
  }

  /** Wrap each figure image in frame > scroller > link-to-the-image-file. */
  function enlargeableFigures() {
    document.querySelectorAll(FIGURE_IMAGES).forEach((img) => {
      if (img.closest("a, .nma-figure")) return;
      const frame = document.createElement("div");
      frame.className = "nma-figure nma-scroll-frame";
      const scroller = document.createElement("div");
      scroller.className = "nma-scroll";
      const link = document.createElement("a");
      link.className = "nma-figure-link";
      link.href = img.currentSrc || img.src;
      link.title = "Open the full-size figure";
      const hint = document.createElement("span");
      hint.className = "nma-sr-only";
      hint.textContent = " (opens the full-size figure)";
      const badge = document.createElement("span");
      badge.className = "nma-zoom-badge";
      badge.setAttribute("aria-hidden", "true");
      img.replaceWith(frame);
      link.append(img, hint);
      scroller.append(link);
      frame.append(scroller, badge);
      followScrolling(frame, scroller);
    });
  }

  /** Display equations: MathJax's container is the scroller (the theme lets it scroll), div.math the frame. */
  function scrollableEquations() {
    document.querySelectorAll(DISPLAY_MATH).forEach((container) => {
      const frame = container.parentElement;
      if (frame.classList.contains("nma-scroll-frame")) return;
      frame.classList.add("nma-scroll-frame", "nma-equation");
      container.classList.add("nma-scroll");
      followScrolling(frame, container);
    });
  }

  /** An icon whose only job is decoration: no title, no role, hidden from assistive technology. */
  function decorative(icon) {
    if (icon.getAttribute("aria-hidden") === "true" && !icon.hasAttribute("title")) return;
    icon.removeAttribute("title");
    icon.removeAttribute("role");
    icon.removeAttribute("aria-labelledby");
    icon.querySelectorAll("title").forEach((t) => t.remove());
    icon.setAttribute("aria-hidden", "true");
  }

  /** The colour-mode button: its icons (titled Light, Dark, System Settings, one shown at a time) are
   * decoration; the button's own name says which mode is on. Font Awesome swaps each <i> for an <svg>
   * whenever it gets to it, so the icons are fixed again on every change under the button. */
  function colourModeButtons() {
    const modeNames = { light: "light", dark: "dark", auto: "system setting" };
    document.querySelectorAll(".theme-switch-button").forEach((button) => {
      const fixIcons = () => button.querySelectorAll(".theme-switch").forEach(decorative);
      const name = () => {
        const mode = document.documentElement.dataset.mode || "auto";
        button.setAttribute("aria-label", `Color mode: ${modeNames[mode] || mode}`);
      };
      fixIcons();
      name();
      new MutationObserver(fixIcons).observe(button, { childList: true, subtree: true, attributes: true });
      new MutationObserver(name).observe(document.documentElement, { attributeFilter: ["data-mode"] });
    });
  }

  function accessibleNames() {
    // The sidebar's search field shows "Search Ctrl+K": named by what it shows, shortcut announced.
    document.querySelectorAll(".search-button-field").forEach((button) => {
      button.removeAttribute("aria-label");
      button.setAttribute("aria-keyshortcuts", "Control+K");
    });
    // myst-nb names every hide-input toggle "Toggle hidden content"; its visible prompt (the shown one
    // of "Show solution" / "Hide solution") is the better name.
    document.querySelectorAll('details.hide > summary[aria-label="Toggle hidden content"]').forEach((s) => {
      s.removeAttribute("aria-label");
    });
    // The sidebar's title link sits outside any landmark; the sidebar as a whole is the book's navigation.
    document.querySelectorAll(".bd-sidebar-primary").forEach((sidebar) => {
      if (!sidebar.hasAttribute("role")) {
        sidebar.setAttribute("role", "region");
        sidebar.setAttribute("aria-label", "Book navigation");
      }
    });
    colourModeButtons();
  }

  document.addEventListener("DOMContentLoaded", () => {
    accessibleNames();
    enlargeableFigures();
  });
  // MathJax (a deferred script) typesets after the page has loaded; its promise settles once it is done.
  window.addEventListener("load", () => {
    const startup = window.MathJax && window.MathJax.startup;
    if (startup && startup.promise) startup.promise.then(scrollableEquations);
  });
})();

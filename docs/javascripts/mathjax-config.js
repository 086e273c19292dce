// MathJax 3 configuration. Loaded before the vendored tex-svg-full.js (see mkdocs.yml),
// which ships every TeX extension and draws glyphs as SVG paths: no font files, no network.
//
// pymdownx.arithmatex (generic mode) wraps inline maths as \( ... \) and display maths as
// \[ ... \] inside elements of class "arithmatex"; MathJax is told to look only there, so
// dollar signs and backslashes in code blocks are never touched.
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"]],
    displayMath: [["\\[", "\\]"]],
    processEscapes: true,
    processEnvironments: true,
    tags: "none",
  },
  options: {
    ignoreHtmlClass: ".*|",
    processHtmlClass: "arithmatex",
  },
  svg: {
    // Each equation carries its own glyph paths: robust when page content is swapped in place.
    fontCache: "local",
  },
  startup: {
    // MathJax typesets the page itself once it has loaded (also when the site is opened
    // from file://). The flag tells the re-typeset hook below the first pass is done.
    pageReady() {
      return MathJax.startup.defaultPageReady().then(() => {
        window.__mathjaxReady = true;
        document.documentElement.setAttribute("data-mathjax", "ready");
      });
    },
  },
};

// Material emits document$ whenever it swaps page content in place (e.g. instant
// navigation, if ever enabled). Re-typeset then; the first emission is handled by startup.
if (typeof document$ !== "undefined") {
  document$.subscribe(() => {
    if (!window.__mathjaxReady) return;
    MathJax.typesetClear();
    MathJax.texReset();
    MathJax.typesetPromise();
  });
}

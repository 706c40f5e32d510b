// MathJax settings of the cdl docs (loaded before MathJax itself, which comes from the site's own _static/ folder):
// $...$ and \(...\) are inline math, $$...$$ and \[...\] displayed math; code blocks are left alone.
window.MathJax = {
  tex: {inlineMath: [['$', '$'], ['\\(', '\\)']]},
  options: {ignoreHtmlClass: 'tex2jax_ignore'}
};

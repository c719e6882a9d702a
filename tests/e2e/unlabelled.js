// Form fields without a label, aria-label or aria-labelledby.
() => Array.from(document.querySelectorAll('input:not([type=hidden]), textarea, select'))
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
  .map(el => el.name || el.id)

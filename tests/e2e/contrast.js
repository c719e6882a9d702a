// WCAG contrast ratio of each visible text element matching `selector` against its background.
(selector) => {
  function rgb(text) { const m = text.match(/[\d.]+/g).map(Number); return {r: m[0], g: m[1], b: m[2], a: m.length > 3 ? m[3] : 1}; }
  function lum(c) { return [c.r, c.g, c.b].map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); })
                     .reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0); }
  function background(el) { while (el) { const c = rgb(getComputedStyle(el).backgroundColor); if (c.a > 0) return c; el = el.parentElement; }
                            return {r: 255, g: 255, b: 255, a: 1}; }
  return Array.from(document.querySelectorAll(selector)).filter(el => el.offsetParent !== null && el.textContent.trim())
    .map(el => { const f = lum(rgb(getComputedStyle(el).color)), b = lum(background(el));
                 return {text: el.textContent.trim().slice(0, 40), ratio: (Math.max(f, b) + 0.05) / (Math.min(f, b) + 0.05)}; });
}

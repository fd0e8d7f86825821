() => {
  // Every chart, table, image and equation must lie inside the box it is drawn in (its column, or the
  // main column); every button, metric label/value must show its whole text; no equation, table or data
  // frame scrolls sideways; no column of text is so narrow that it wraps a word or two a line.
  const problems = [];
  const main = document.querySelector("[data-testid='stMainBlockContainer']");
  if (!main) return ["no main block"];
  const visible = (el) => {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) return false;
    if (el.closest("details:not([open])")) return false;  // inside a closed expander: not on screen
    for (let e = el; e; e = e.parentElement) {
      const s = getComputedStyle(e);
      if (s.display === "none" || s.visibility === "hidden") return false;
    }
    return true;
  };
  const scrollsX = (el) => ["auto", "scroll"].includes(getComputedStyle(el).overflowX);
  // the box an element must fit in: its nearest horizontally scrolling ancestor wins (it may scroll),
  // else its nearest column, else the main column
  const boxOf = (el) => {
    for (let e = el.parentElement; e && e !== main.parentElement; e = e.parentElement) {
      if (scrollsX(e) && e.scrollWidth > e.clientWidth + 1) return {box: e, scroll: true};
      if (e.getAttribute("data-testid") === "stColumn") return {box: e, scroll: false};
      if (e === main) return {box: e, scroll: false};
    }
    return {box: main, scroll: false};
  };
  const name = (el) => {
    const t = (el.getAttribute("aria-label") || el.innerText || el.getAttribute("alt") || "").trim();
    return `${el.getAttribute("data-testid") || el.tagName.toLowerCase()} "${t.slice(0, 50)}"`;
  };
  const mainRect = main.getBoundingClientRect();
  const items = document.querySelectorAll(
    "[data-testid='stMainBlockContainer'] :is([data-testid='stVegaLiteChart'] :is(canvas, svg.marks), " +
    "[data-testid='stImage'] img, [data-testid='stTable'] table, [data-testid='stDataFrame'], .katex-html, " +
    "[data-testid='stPlotlyChart'], [data-testid='stPyplot'] img)");
  for (const el of items) {
    if (!visible(el)) continue;
    const r = el.getBoundingClientRect();
    const {box, scroll} = boxOf(el);
    const b = box.getBoundingClientRect();
    const right = Math.min(b.right, mainRect.right), left = Math.max(b.left, mainRect.left);
    if (scroll) {  // a scrolling box is fine if the box itself fits the column
      if (b.right > mainRect.right + 1) problems.push(`${name(el)}: scroll box ${b.right.toFixed(0)} > main ${mainRect.right.toFixed(0)}`);
      continue;
    }
    if (r.right > right + 1 || r.left < left - 1) {
      const chart = el.closest("[data-testid='stVegaLiteChart'], [data-testid='stImage'], [data-testid='stElementContainer']") || el;
      problems.push(`${name(chart)}: spans ${r.left.toFixed(0)}..${r.right.toFixed(0)}, its box ${left.toFixed(0)}..${right.toFixed(0)}`);
    }
  }
  // texts that must never be cut: button labels, metric labels and values, tab labels
  const texts = document.querySelectorAll(
    "button, button *, [data-testid='stMetricLabel'], [data-testid='stMetricLabel'] *, [data-testid='stMetricValue'], " +
    "[data-testid='stMetricValue'] *, [data-testid='stMetricDelta'], [data-testid='stMetricDelta'] *");
  for (const el of texts) {
    if (!visible(el) || !el.innerText || !el.innerText.trim()) continue;
    if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== "visible") {
      const owner = el.closest("button, [data-testid='stMetric']") || el;
      problems.push(`${name(owner)}: text cut (${el.scrollWidth} > ${el.clientWidth})`);
    }
  }
  // a button label wraps at spaces only: a one-word label on two lines ("Pau" / "se") is broken
  for (const el of document.querySelectorAll("[data-testid='stMainBlockContainer'] button [data-testid='stMarkdownContainer'] p")) {
    const text = el.innerText.trim();
    if (!visible(el) || !text || /\s/.test(text)) continue;
    const line = parseFloat(getComputedStyle(el).lineHeight) || 1.6 * parseFloat(getComputedStyle(el).fontSize);
    if (el.getBoundingClientRect().height > 1.5 * line) {
      problems.push(`${name(el.closest("button"))}: its one word is broken over two lines`);
    }
  }
  // presenting (20-px body text), a chart title (drawn as SVG) is at least 14 px: smaller, it is
  // unreadable from the back of a room
  if (parseFloat(getComputedStyle(document.documentElement).fontSize) >= 20) {
    for (const el of document.querySelectorAll("[data-testid='stMainBlockContainer'] [data-testid='stVegaLiteChart'] .role-title-text text")) {
      const px = parseFloat(getComputedStyle(el).fontSize);
      if (visible(el) && px < 14 - 0.01) {
        problems.push(`chart title "${el.textContent.slice(0, 40)}": ${px.toFixed(1)} px while presenting`);
      }
    }
  }
  // a select box shows its whole choice (a prompt id cut to "lear-birds-in-the-" names nothing)
  for (const el of document.querySelectorAll("[data-testid='stMainBlockContainer'] [data-testid='stSelectbox'] input")) {
    if (visible(el) && el.scrollWidth > el.clientWidth + 1) {
      const box = el.closest("[data-testid='stSelectbox']");
      problems.push(`select box "${(box.querySelector("label") || box).innerText.trim().slice(0, 40)}": choice cut (${el.scrollWidth} > ${el.clientWidth})`);
    }
  }
  // nothing the text asks students to read scrolls sideways: an equation, a table or a data frame that
  // needs a horizontal scroll bar shows only part of itself on a projector (a frozen screen)
  const scrollers = document.querySelectorAll(
    "[data-testid='stMainBlockContainer'] :is(.katex-display, [data-testid='stTable'], [data-testid='stTable'] *, " +
    "[data-testid='stDataFrame'] *, [data-testid='stMarkdownContainer'], [data-testid='stMarkdownContainer'] *)");
  for (const el of scrollers) {
    if (!visible(el) || !scrollsX(el) || el.scrollWidth <= el.clientWidth + 1) continue;
    const owner = el.closest("[data-testid='stDataFrame'], [data-testid='stTable'], .katex-display, " +
                             "[data-testid='stMarkdownContainer']") || el;
    const what = owner.classList.contains("katex-display") ? `equation ${(owner.querySelector("annotation") || owner).textContent.replace(/\s+/g, " ").slice(0, 50)}` : name(owner);
    problems.push(`${what}: scrolls sideways (${el.scrollWidth} > ${el.clientWidth})`);
  }
  // a column of running text at least 9 em wide: narrower, it wraps a word or two a line
  for (const el of document.querySelectorAll("[data-testid='stMainBlockContainer'] [data-testid='stMarkdownContainer'] :is(p, li)")) {
    if (!visible(el) || el.closest("button, label, [data-testid='stMetric'], [data-testid='stCaptionContainer'], " +
                                   "[data-testid='stTooltipContent'], [data-testid='stExpander'] summary, " +
                                   "[data-testid='stTable']")) continue;  // a table's cells wrap by design
    const words = el.innerText.trim().split(/\s+/).length;
    const em = parseFloat(getComputedStyle(el).fontSize);
    if (words >= 8 && el.getBoundingClientRect().width < 9 * em) {
      problems.push(`${name(el)}: text column ${el.getBoundingClientRect().width.toFixed(0)} px, a word or two a line`);
    }
  }
  return [...new Set(problems)];
}

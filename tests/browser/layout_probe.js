() => {
  // Every chart, table, image and equation must lie inside the box it is drawn in (its column, or the
  // main column); every button, metric label/value must show its whole text.
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
  return [...new Set(problems)];
}

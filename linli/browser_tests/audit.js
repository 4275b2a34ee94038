// What a thumb on a 360 px phone runs into on the open page: a list of problems, one string each.
// Run by test_thumb_on_a_phone.py (page.evaluate); each check is described there.
() => {
  const MIN_TARGET = 24; // CSS px, WCAG 2.2 target size (minimum)
  const MIN_TEXT = 12; // CSS px
  const problems = [];
  const root = document.documentElement;

  const shown = (el) => el.checkVisibility({ opacityProperty: true, visibilityProperty: true });
  const describe = (el) => {
    const text = (el.getAttribute("aria-label") || el.placeholder || el.textContent || el.value || "")
      .trim().replace(/\s+/g, " ").slice(0, 30);
    const name = el.id ? `#${el.id}` : el.className && typeof el.className === "string" ? `.${el.className.trim().split(/\s+/).join(".")}` : "";
    const type = el.type && el.tagName !== "BUTTON" ? `[type=${el.type}]` : "";
    return `<${el.tagName.toLowerCase()}${name}${type}> "${text}"`;
  };
  const size = (el) => {
    const box = el.getBoundingClientRect();
    return `${Math.round(box.width * 10) / 10}×${Math.round(box.height * 10) / 10}`;
  };
  const bigEnough = (el) => {
    const box = el.getBoundingClientRect();
    // A hair of rounding (23.998 px from rem arithmetic) is not a defect.
    return box.width >= MIN_TARGET - 0.01 && box.height >= MIN_TARGET - 0.01;
  };

  // 1. No horizontal overflow; name what sticks out (outside any box that scrolls sideways).
  if (root.scrollWidth > root.clientWidth) {
    const scrolls = (el) => {
      for (let up = el.parentElement; up && up !== root; up = up.parentElement) {
        if (getComputedStyle(up).overflowX !== "visible") return true;
      }
      return false;
    };
    const wide = [...document.body.querySelectorAll("*")]
      .filter((el) => shown(el) && el.getBoundingClientRect().right > root.clientWidth + 0.5 && !scrolls(el))
      .slice(0, 3).map((el) => `${describe(el)} right=${Math.round(el.getBoundingClientRect().right)}`);
    problems.push(`overflow: scrollWidth ${root.scrollWidth} > clientWidth ${root.clientWidth}: ${wide.join("; ")}`);
  }

  // 2. Tap targets. A link in running text (an inline link sharing its block with other text) is exempt,
  // as WCAG's "inline" exception says; every other link, button and form control is a target. A radio or
  // checkbox that is drawn must itself be big enough: the dot is what the thumb aims at. One that is not
  // drawn (a segmented control's hidden radio) is represented by its label, which must be big enough.
  const inRunningText = (link) => {
    if (getComputedStyle(link).display !== "inline") return false;
    let block = link.parentElement;
    while (block && getComputedStyle(block).display === "inline") block = block.parentElement;
    if (!block) return false;
    const own = link.textContent.replace(/\s+/g, "");
    const all = block.textContent.replace(/\s+/g, "");
    return all.length > own.length;
  };
  const targets = document.body.querySelectorAll(
    "button, a[href], input:not([type=hidden]), select, textarea, summary, [role=button]",
  );
  for (const el of targets) {
    const drawn = shown(el) && el.getBoundingClientRect().width > 1 && el.getBoundingClientRect().height > 1;
    if (el.tagName === "INPUT" && !drawn) {
      // A hidden control whose label stands in for it (a styled radio, a camera button over a file input).
      const label = el.closest("label") || (el.id && document.querySelector(`label[for="${CSS.escape(el.id)}"]`));
      if (label && shown(label) && !bigEnough(label)) {
        problems.push(`target: label of ${describe(el)} is ${size(label)} (the control is hidden)`);
      }
      continue;
    }
    if (!drawn) continue;
    if (el.tagName === "A" && inRunningText(el)) continue;
    if (!bigEnough(el)) problems.push(`target: ${describe(el)} is ${size(el)}`);
  }

  // 3. A placeholder fits its box: its text, in the placeholder's font, against the content width.
  const canvas = document.createElement("canvas").getContext("2d");
  for (const el of document.body.querySelectorAll("input[placeholder]")) {
    if (!el.placeholder || el.value || !shown(el)) continue; // shown only while empty
    const style = getComputedStyle(el, "::placeholder");
    canvas.font = `${style.fontStyle} ${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
    canvas.letterSpacing = style.letterSpacing === "normal" ? "0px" : style.letterSpacing;
    const text = canvas.measureText(el.placeholder).width;
    const box = getComputedStyle(el);
    const room = el.clientWidth - parseFloat(box.paddingLeft) - parseFloat(box.paddingRight);
    if (text > room + 0.5) {
      problems.push(`placeholder: ${describe(el)} needs ${Math.ceil(text)} px, has ${Math.floor(room)} px`);
    }
  }

  // 4. No text smaller than 12 px: every text node that is drawn, at its element's font size.
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {
    acceptNode: (node) => (node.textContent.trim() ? NodeFilter.FILTER_ACCEPT : NodeFilter.FILTER_REJECT),
  });
  const small = new Map();
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!el || ["SCRIPT", "STYLE", "NOSCRIPT", "TEMPLATE", "OPTION"].includes(el.tagName) || !shown(el)) continue;
    const px = parseFloat(getComputedStyle(el).fontSize);
    if (px < MIN_TEXT - 0.01 && !small.has(el)) small.set(el, px);
  }
  for (const [el, px] of small) problems.push(`text: ${describe(el)} is ${Math.round(px * 100) / 100} px`);
  return problems;
}

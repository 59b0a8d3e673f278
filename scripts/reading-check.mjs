// The EPUB as readers see it: opened in epub.js (the engine behind many web and app
// readers) in headless Chromium, paginated at a phone's and a tablet's size, in a light
// and a night theme. Prints one JSON report: what a reader would see wrong, located by
// file and element, and the screenshots taken at fixed places. Run by
// bookbuild/readingcheck.py; nothing here may leave the machine (every request but
// file:, data: and blob: is refused and reported, and CHROMIUM is scripts/chromium-offline,
// which resolves no host name).
//
//   node scripts/reading-check.mjs BOOK.epub SCREENSHOT_FOLDER
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import puppeteer from "puppeteer-core";

const [epubPath, shots] = process.argv.slice(2);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const modules = path.join(root, "node_modules");

const CONFIGS = [
  { name: "phone-night", width: 390, height: 844, theme: "night", shots: true },
  { name: "phone-light", width: 390, height: 844, theme: "light", shots: false },
  { name: "tablet-light", width: 1024, height: 768, theme: "light", shots: true },
];
const THEMES = {
  light: { body: { background: "#ffffff !important", color: "#000000 !important" } },
  night: { body: { background: "#121212 !important", color: "#d8d8d8 !important" } },
};
// The places an editor looks at: the first document holding the selector, shown at the
// element itself when `at` is true, else from its start.
const PLACES = [
  ["cover", "img", false], ["title-page", ".titlepage", false], ["contents", "nav", false],
  ["chapter-opening", "section.chapter", false], ["note", "a.noteref", true],
  ["note-return", "section.endnotes li", true], ["glossary", "section#glossary", false],
  ["biography", ".biography", true], ["index", "section#index", false],
  ["document-table", "table", true],
];

const harness = path.join(os.tmpdir(), `reading-check-${process.pid}.html`);
fs.writeFileSync(harness, `<!DOCTYPE html><html><head><meta charset="utf-8">
<script src="${pathToFileURL(path.join(modules, "jszip/dist/jszip.min.js"))}"></script>
<script src="${pathToFileURL(path.join(modules, "epubjs/dist/epub.min.js"))}"></script>
<style>html, body { margin: 0; padding: 0; } #viewer { overflow: hidden; }</style>
</head><body><div id="viewer"></div></body></html>`);

const blocked = [];
const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  timeout: 120000,  // a start on a loaded 2-core machine can take longer than puppeteer's 30 s
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
         "--disable-background-networking", "--disable-component-update", "--disable-default-apps",
         "--disable-extensions", "--disable-domain-reliability", "--no-pings", "--allow-file-access-from-files"],
});
const report = { findings: [], screenshots: [], blocked, documents: 0 };
try {
  const epub = fs.readFileSync(epubPath).toString("base64");
  for (const config of CONFIGS) {
    const page = await browser.newPage();
    await page.setRequestInterception(true);
    page.on("request", (request) => {
      const url = request.url();
      if (/^(file|data|blob|about):/.test(url)) request.continue();
      else { blocked.push(url); request.abort(); }
    });
    await page.setViewport({ width: config.width, height: config.height });
    await page.goto(pathToFileURL(harness).href);
    const result = await page.evaluate(inPage, epub, config, THEMES, PLACES);
    report.documents = Math.max(report.documents, result.documents);
    for (const finding of result.findings) report.findings.push({ ...finding, config: config.name });
    if (config.shots) {
      fs.mkdirSync(shots, { recursive: true });
      for (const [name, selector, at] of PLACES) {
        const href = result.places[name];
        if (!href) continue;
        const shown = await page.evaluate(showPlace, href, at ? selector : null);
        if (!shown) continue;
        await new Promise((resolve) => setTimeout(resolve, 150));
        const file = path.join(shots, `${config.name}-${name}.png`);
        await page.screenshot({ path: file });
        report.screenshots.push(file);
      }
    }
    await page.close();
  }
} finally {
  await browser.close();
  fs.rmSync(harness, { force: true });
}
process.stdout.write(JSON.stringify(report, null, 1) + "\n");

// --- in the page ----------------------------------------------------------------------

async function inPage(epubBase64, config, themes, places) {
  const bytes = Uint8Array.from(atob(epubBase64), (c) => c.charCodeAt(0));
  const book = ePub(bytes.buffer);
  const rendition = book.renderTo("viewer", { width: config.width, height: config.height,
                                              flow: "paginated", spread: "none" });
  for (const [name, rules] of Object.entries(themes)) rendition.themes.register(name, rules);
  rendition.themes.select(config.theme);
  await book.ready;
  window.__book = book;
  window.__rendition = rendition;
  const findings = [];
  const found = {};
  const YEARS = /\b\d{3,4}\s*[–-]\s*\d{2,4}\b/g;

  const describe = (el) => {
    const id = el.id ? `#${el.id}` : "";
    const cls = el.classList && el.classList.length ? `.${[...el.classList].join(".")}` : "";
    const text = (el.textContent || "").trim().replace(/\s+/g, " ").slice(0, 40);
    return `${el.localName}${id}${cls} "${text}"`;
  };
  const rgb = (value) => (value.match(/[\d.]+/g) || []).slice(0, 4).map(Number);
  const luminance = ([r, g, b]) => {
    const f = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const contrast = (a, b) => {
    const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05);
  };
  // The tops of a paragraph's lines: of its own text, not of raised note numbers.
  const lines = (p) => {
    const doc = p.ownerDocument;
    const walker = doc.createTreeWalker(p, NodeFilter.SHOW_TEXT);
    const tops = new Set();
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (!node.data.trim() || node.parentElement.closest("a.noteref, sup, sub")) continue;
      const range = doc.createRange();
      range.selectNodeContents(node);
      for (const r of range.getClientRects()) if (r.width > 0) tops.add(Math.round(r.top));
    }
    return [...tops].sort((a, b) => a - b);
  };

  for (const item of book.spine.spineItems) {
    await rendition.display(item.href);
    const contents = rendition.getContents()[0];
    if (!contents) continue;
    const doc = contents.document;
    const win = doc.defaultView;
    const file = item.href;
    for (const [name, selector] of places) {
      if (!(name in found) && doc.querySelector(selector)) found[name] = item.href;
    }
    const column = parseFloat(win.getComputedStyle(doc.documentElement).columnWidth) || config.width;
    const background = rgb(win.getComputedStyle(doc.body).backgroundColor);
    // A block that runs on into the next page comes as one box per page: each must fit.
    for (const el of doc.body.querySelectorAll("table, img, figure, pre, p, div, h1, h2, h3, ul, ol, dl, td, th")) {
      const width = Math.max(0, ...[...el.getClientRects()].map((r) => r.width));
      const inner = el.localName === "table" ? el.scrollWidth : 0;
      if (width > column + 1 || inner > column + 1) {
        findings.push({ file, element: describe(el), kind: "wide",
                        detail: `${Math.round(Math.max(width, inner))} px wide in a ${Math.round(column)} px page` });
      }
    }
    const text = rgb(win.getComputedStyle(doc.body).color);
    if (background.length >= 3 && text.length >= 3 && contrast(text, background) < 4.5) {
      findings.push({ file, element: "body", kind: "contrast",
                      detail: `text ${contrast(text, background).toFixed(1)}:1 on the ${config.theme} theme` });
    }
    for (const a of doc.body.querySelectorAll("a")) {
      const color = rgb(win.getComputedStyle(a).color);
      const ratio = contrast(color, background);
      if (ratio < 4.5) {
        findings.push({ file, element: describe(a), kind: "contrast",
                        detail: `link ${ratio.toFixed(1)}:1 on the ${config.theme} theme` });
      }
    }
    for (const p of doc.body.querySelectorAll("p")) {
      if (p.closest("table, figure, nav, .document, section.endnotes, .titlepage, .copyright, .cover")) continue;
      const tops = lines(p);
      if (tops.length < 3) continue;
      const steps = tops.slice(1).map((t, i) => t - tops[i]).filter((d) => d > 0).sort((a, b) => a - b);
      const pitch = steps[Math.floor(steps.length / 2)];
      const size = parseFloat(win.getComputedStyle(p).fontSize);
      if (pitch / size < 1.3) {
        findings.push({ file, element: describe(p), kind: "pitch",
                        detail: `line pitch ${(pitch / size).toFixed(2)} of the type size` });
      }
    }
    for (const heading of doc.body.querySelectorAll("h1, h2, h3")) {
      const walker = doc.createTreeWalker(heading, NodeFilter.SHOW_TEXT);
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        for (const m of node.data.matchAll(YEARS)) {
          const range = doc.createRange();
          range.setStart(node, m.index);
          range.setEnd(node, m.index + m[0].length);
          const tops = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)));
          if (tops.size > 1) {
            findings.push({ file, element: describe(heading), kind: "heading",
                            detail: `"${m[0]}" broken across lines` });
          }
        }
      }
    }
  }
  return { findings, places: found, documents: book.spine.spineItems.length };
}

async function showPlace(href, selector) {
  const rendition = window.__rendition;
  const item = window.__book.spine.get(href);
  await rendition.display(href);
  if (!selector) return true;
  const contents = rendition.getContents()[0];
  const el = contents && contents.document.querySelector(selector);
  if (el) await rendition.display(item.cfiFromElement(el));
  return true;
}

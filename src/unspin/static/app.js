// unspin page. All user text reaches the DOM through textContent / text nodes,
// never innerHTML, so pasted markup is shown, not run.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { health: null, input: "", restore: null, detect: null, loaded: null };

// The API reports offsets in code points (Python str indices); JS strings are
// UTF-16, so astral characters (emoji) would shift every later highlight.
function cpToUnit(text) {
  const map = [];
  let u = 0;
  for (const ch of text) { map.push(u); u += ch.length; }
  map.push(u);
  return map;
}
const cpLen = (s) => Array.from(s).length;
const pct = (x) => `${Math.round(x * 100)}%`;
const SHORT_WORDS = 30;  // under this, the verdict comes with a caution

function el(tag, props = {}, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") node.className = v; else node.setAttribute(k, v);
  }
  if (text !== undefined) node.textContent = text;
  return node;
}

// Fill `box` with `text`, wrapping each span {start, end, tip, label, cls?} (UTF-16
// offsets, sorted by start) in a mark.
function renderMarked(box, text, spans) {
  box.replaceChildren();
  let at = 0;
  for (const s of spans) {
    if (s.start < at) continue; // overlapping spans never come from restore; be safe anyway
    box.append(document.createTextNode(text.slice(at, s.start)));
    const props = { tabindex: "0", "aria-label": s.label, "data-tip": s.tip };
    if (s.cls) props.class = s.cls;
    const mark = el("mark", props, text.slice(s.start, s.end));
    box.append(mark);
    at = s.end;
  }
  box.append(document.createTextNode(text.slice(at)));
}

function changeSpans(input, result) {
  const inMap = cpToUnit(input);
  const outMap = cpToUnit(result.text);
  const spun = [], restored = [];
  let shift = 0; // code-point offset of the restored text relative to the input
  const changes = [...result.changes].sort((a, b) => a.start - b.start);
  for (const c of changes) {
    const conf = pct(c.confidence);
    spun.push({
      start: inMap[c.start], end: inMap[c.end],
      tip: `→ ${c.restored} (confidence ${conf})`,
      label: `${c.spun}: restored as ${c.restored}, confidence ${conf}`,
    });
    const rs = c.start + shift;
    const re = rs + cpLen(c.restored);
    restored.push({
      start: outMap[rs], end: outMap[re],
      tip: `was: ${c.spun} (confidence ${conf})`,
      label: `${c.restored}: restored from ${c.spun}, confidence ${conf}`,
    });
    shift += cpLen(c.restored) - (c.end - c.start);
  }
  return { spun, restored };
}

// Detect's unlikely words: spun-looking words restore has no suggestion for
// (a blind thesaurus swap), marked apart from the restored changes.
function suspectSpans(input, det, changes) {
  const inMap = cpToUnit(input);
  return (det.findings || [])
    .filter((f) => f.kind === "unlikely_word")
    .filter((f) => !changes.some((c) => c.start < f.end && f.start < c.end))
    .map((f) => ({
      start: inMap[f.start], end: inMap[f.end], cls: "suspect",
      tip: "fits neither neighbour (a possible swap; no suggestion)",
      label: `${f.text}: fits neither neighbour, a possible swap, no suggestion`,
    }));
}

function setView(view) {
  const panes = $("panes");
  panes.dataset.view = view;
  $("pane-spun").hidden = view === "restored";
  $("pane-restored").hidden = view === "spun";
}

function showStatus(msg, isError = false) {
  const s = $("status");
  s.textContent = msg;
  s.classList.toggle("error", isError);
}

async function api(path, body) {
  const init = body === undefined ? {} : {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  };
  let resp;
  try {
    resp = await fetch(path, init);
  } catch (e) {
    throw new Error("cannot reach the unspin server");
  }
  let data = null;
  try { data = await resp.json(); } catch (e) { /* not JSON: reported below */ }
  if (!resp.ok) throw new Error((data && data.error) || `server answered ${resp.status}`);
  return data;
}

// P as a percentage, with a decimal where whole percents would put it on
// the threshold ("89 %, threshold 89 %, clean" reads as arbitrary).
function pctBy(p, sig) {
  const t = sig && sig.threshold;
  for (let d = 0; d < 4 && t !== undefined; d++) {
    const text = (100 * p).toFixed(d);
    const shown = Number(text) / 100;
    if (shown !== t && (shown >= t) === (p >= t)) return `${text}%`;
  }
  return pct(p);
}

function renderVerdict(det) {
  const spun = det.verdict === "spun";
  const box = $("verdict");
  box.classList.toggle("spun", spun);
  box.classList.toggle("clean", !spun);
  $("verdict-label").textContent =
    `${spun ? "Likely spun" : "Looks clean"} — P(spun) ${pctBy(det.spun_probability, det.signals)}`;
  const sig = det.signals || {};
  const bits = [];
  if (sig.threshold !== undefined) bits.push(`verdict threshold ${pct(sig.threshold)}`);
  if (sig.n_words !== undefined) bits.push(`${sig.n_words} word${sig.n_words === 1 ? "" : "s"}`);
  // One sentence holds little evidence: 2.7 % of clean sentences read as
  // spun, one habit word being all there is to go on (docs/detect.md).
  if (sig.n_words !== undefined && sig.n_words < SHORT_WORDS) {
    bits.push("few words: read the highlights rather than the verdict");
  }
  if (sig.spin_rate !== undefined) bits.push(`estimated spin rate ${pct(sig.spin_rate)}`);
  const sections = sig.spun_sections || [];
  if (sections.length) {  // a page that reads clean overall, with a spun part
    const rates = sections.map((x) => pct(x.spin_rate)).join(", ");
    bits.push(sections.length === 1
      ? `1 paragraph reads spun on its own (its spin rate ${rates})`
      : `${sections.length} paragraphs read spun on their own (spin rates ${rates})`);
  }
  $("verdict-detail").textContent = bits.length ? `(${bits.join(", ")})` : "";
  $("meter-bar").style.width = pct(det.spun_probability);
}

// The source, plus what most often decided it: an a/an clash or the
// document repeating the same restoration.
function evidenceText(ev) {
  const bits = [ev.source || ""];
  if (ev.article === "agrees with restored") bits.push("a/an agrees");
  if (ev.repeats) bits.push(`repeated ×${ev.repeats}`);
  return bits.filter(Boolean).join(" · ");
}

function renderChanges(res) {
  const body = $("changes").tBodies[0];
  body.replaceChildren();
  for (const c of res.changes) {
    const tr = el("tr");
    tr.append(el("td", {}, c.spun), el("td", {}, c.restored), el("td", {}, pct(c.confidence)),
      el("td", { class: "muted" }, evidenceText(c.evidence || {})));
    body.append(tr);
  }
  const n = res.changes.length;
  $("changes-summary").textContent = `${n} change${n === 1 ? "" : "s"}`;
}

async function renderSource(input) {
  const box = $("source");
  box.hidden = true;
  if (!state.health || !state.health.index) return;
  const tr = await api("api/trace", { text: input, top: 1 });
  box.hidden = false;
  const list = $("passages");
  list.replaceChildren();
  if (!tr.found) { $("source-summary").textContent = tr.message; return; }
  const m = tr.matches[0];
  const src = await api(`api/source?id=${encodeURIComponent(m.id)}`);
  $("source-summary").textContent =
    `${m.title || m.id}: ${pct(m.coverage)} of the text aligns with this source ` +
    `(${m.synonyms} thesaurus swap${m.synonyms === 1 ? "" : "s"} confirmed).`;
  const inMap = cpToUnit(input), srcMap = cpToUnit(src.text);
  for (const s of m.spans.slice(0, 20)) {
    const li = el("li", { class: "passage" });
    li.append(
      el("div", { class: "copy" }, input.slice(inMap[s.copy_start], inMap[s.copy_end])),
      el("div", { class: "orig" }, src.text.slice(srcMap[s.source_start], srcMap[s.source_end])),
    );
    list.append(li);
  }
}

async function submit(ev) {
  if (ev) ev.preventDefault();
  if ($("go").disabled) return;  // one request at a time: answers never mix two texts
  // A file opened as is keeps its exact bytes (a BOM, CRLF line ends), which
  // the text box would drop, as long as the box still shows it unedited.
  const shown = $("text").value;
  const input = state.loaded && state.loaded.shown === shown ? state.loaded.raw : shown;
  if (!input.trim()) { fail("Paste some text first."); return; }
  const max = state.health && state.health.max_bytes;
  const size = new Blob([JSON.stringify({ text: input })]).size;
  if (max && size > max) {
    fail(`The text is too long for this server (limit ${max.toLocaleString()} bytes).`);
    return;
  }
  const confRaw = $("confidence").value.trim();
  const body = { text: input };
  if (confRaw !== "") body.confidence = Number(confRaw);
  $("go").disabled = true;
  showStatus("Working…");
  try {
    const [res, det] = await Promise.all([
      api("api/restore", body), api("api/detect", { text: input }),
    ]);
    state.input = input; state.restore = res; state.detect = det;
    renderVerdict(det);
    const spans = changeSpans(input, res);
    const marks = [...spans.spun, ...suspectSpans(input, det, res.changes)]
      .sort((a, b) => a.start - b.start);
    renderMarked($("out-spun"), input, marks);
    renderMarked($("out-restored"), res.text, spans.restored);
    renderChanges(res);
    $("results").hidden = false;
    $("results").focus();  // the button lost focus while disabled: go on from the answer
    const n = res.changes.length;
    showStatus(`Done: ${n} change${n === 1 ? "" : "s"}, verdict ${det.verdict}.`);
    try { await renderSource(input); } catch (e) { showStatus(`Source search failed: ${e.message}`, true); }
  } catch (e) {
    fail(e.message);
  } finally {
    $("go").disabled = false;
  }
}

// A submission that failed, here or at the server: no results of an earlier
// text may stay on screen, or in the download; focus goes back to the text.
function fail(message) {
  $("results").hidden = true;
  state.restore = state.detect = null;
  showStatus(message, true);
  $("text").focus();
}

// HTML files: keep only the visible text. DOMParser documents never run scripts.
function htmlToText(raw) {
  const doc = new DOMParser().parseFromString(raw, "text/html");
  doc.querySelectorAll("script, style, noscript, template, head").forEach((n) => n.remove());
  doc.querySelectorAll("p, div, br, li, tr, h1, h2, h3, h4, h5, h6, article, section, blockquote")
    .forEach((n) => n.after(doc.createTextNode("\n")));
  const text = (doc.body ? doc.body.textContent : "") || "";
  return text.replace(/[ \t]+\n/g, "\n").replace(/\n{3,}/g, "\n\n").trim();
}

async function loadFile(file) {
  if (!file) return;
  // ignoreBOM: a byte-order mark is part of the text, as the CLI keeps it;
  // fatal: bytes that are not UTF-8 are refused, as the CLI refuses them,
  // not turned into replacement characters.
  let raw;
  try {
    raw = new TextDecoder("utf-8", { ignoreBOM: true, fatal: true }).decode(await file.arrayBuffer());
  } catch (e) {
    showStatus(`${file.name} is not UTF-8 text: convert it to UTF-8 and open it again.`, true);
    return;
  }
  const isHtml = /\.html?$/i.test(file.name) || file.type === "text/html";
  $("text").value = isHtml ? htmlToText(raw) : raw;
  state.loaded = isHtml ? null : { raw, shown: $("text").value };
  showStatus(`Loaded ${file.name}${isHtml ? " (HTML tags removed)" : ""}.`);
}

function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
  const ta = el("textarea");
  ta.value = text;
  document.body.append(ta);
  ta.select();
  document.execCommand("copy");
  ta.remove();
  return Promise.resolve();
}

function init() {
  $("form").addEventListener("submit", submit);
  $("text").addEventListener("keydown", (e) => {
    // Through the form, so the confidence box is checked as a click checks it.
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); $("form").requestSubmit(); }
  });
  const ta = $("text");
  ta.addEventListener("dragover", (e) => { e.preventDefault(); ta.classList.add("drop"); });
  ta.addEventListener("dragleave", () => ta.classList.remove("drop"));
  ta.addEventListener("drop", (e) => {
    e.preventDefault();
    ta.classList.remove("drop");
    const f = e.dataTransfer && e.dataTransfer.files[0];
    if (f) loadFile(f).catch((err) => showStatus(err.message, true));
  });
  // The file input is hidden; its label is the control that takes focus.
  $("file-label").addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") { e.preventDefault(); $("file").click(); }
  });
  $("file").addEventListener("change", (e) => {
    loadFile(e.target.files[0]).catch((err) => showStatus(err.message, true));
  });
  document.querySelectorAll('input[name="view"]').forEach((r) =>
    r.addEventListener("change", () => setView(r.value)));
  setView("restored");
  $("copy").addEventListener("click", () => {
    if (!state.restore) return;
    copyText(state.restore.text).then(() => showStatus("Restored text copied."),
      () => showStatus("Copy failed; select the text and copy it by hand.", true));
  });
  $("download").addEventListener("click", () => {
    if (!state.restore) return;
    const url = URL.createObjectURL(new Blob([state.restore.text], { type: "text/plain" }));
    const a = el("a", { href: url, download: "restored.txt" });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  });
  // Escape hides a focused mark's tooltip (WCAG 1.4.13: dismissible without moving focus).
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && e.target.tagName === "MARK") e.target.classList.add("tip-off");
  });
  document.addEventListener("focusout", (e) => {
    if (e.target.tagName === "MARK") e.target.classList.remove("tip-off");
  });
  api("api/health").then((h) => {
    state.health = h;
    $("version").textContent = h.version;
  }).catch((e) => showStatus(e.message, true));
}

document.addEventListener("DOMContentLoaded", init);

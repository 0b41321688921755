// The scripts workbench: a list, an editor that checks as you type, save
// with conflict detection, and runs of the text being edited.
"use strict";

const $ = (id) => document.getElementById(id);
const token = document.querySelector('meta[name="blogmark-token"]').content;
const writable = document.querySelector('meta[name="blogmark-writable"]').content === "true";

const state = {
  scripts: [],
  open: null, // { slug, path, version, kind, enabled, saved }
  checkTimer: 0,
  checkSeq: 0,
};

async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: body === undefined ? { "X-Blogmark-Token": token }
      : { "Content-Type": "application/json", "X-Blogmark-Token": token },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = {};
  try { data = await response.json(); } catch { /* an empty or non-JSON answer */ }
  return { ok: response.ok, status: response.status, data };
}

function notice(text) {
  $("notice").textContent = text;
}

// Python highlighting: strings, comments, numbers, decorators, keywords,
// builtins, and the name after `def` or `class`.
const KEYWORDS = new Set(("False None True and as assert async await break class continue def del " +
  "elif else except finally for from global if import in is lambda nonlocal not or pass raise " +
  "return try while with yield match case").split(" "));
const BUILTINS = new Set(("abs all any bool dict enumerate filter float format getattr hasattr " +
  "int isinstance len list map max min next print range repr reversed round set sorted str sum " +
  "tuple type zip ValueError TypeError KeyError Exception").split(" "));
const TOKEN = /([rRbBfFuU]{0,2}(?:"""[\s\S]*?(?:"""|$)|'''[\s\S]*?(?:'''|$)|"(?:\\.|[^"\\\n])*"?|'(?:\\.|[^'\\\n])*'?))|(#[^\n]*)|(\b\d[\d_]*(?:\.\d+)?(?:[eE][+-]?\d+)?j?\b)|(@[A-Za-z_][\w.]*)|([A-Za-z_]\w*)/g;

function escapeHtml(text) {
  return text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]));
}

function highlight(text) {
  let out = "";
  let last = 0;
  let afterDef = false;
  for (const m of text.matchAll(TOKEN)) {
    out += escapeHtml(text.slice(last, m.index));
    const [whole, str, com, num, dec, word] = m;
    let cls = "";
    if (str !== undefined) cls = "str";
    else if (com !== undefined) cls = "com";
    else if (num !== undefined) cls = "num";
    else if (dec !== undefined) cls = "dec";
    else if (word !== undefined) {
      if (afterDef) cls = "fn";
      else if (KEYWORDS.has(word)) cls = "kw";
      else if (BUILTINS.has(word)) cls = "bi";
    }
    afterDef = word === "def" || word === "class";
    out += cls ? `<span class="${cls}">${escapeHtml(whole)}</span>` : escapeHtml(whole);
    last = m.index + whole.length;
  }
  return out + escapeHtml(text.slice(last)) + "\n";
}

function paint(problems = []) {
  const text = $("text").value;
  $("highlight").innerHTML = highlight(text);
  const lines = text.split("\n").length;
  const marks = new Map();
  for (const p of problems) {
    if (p.line > 0 && !marks.has(p.line)) marks.set(p.line, p);
  }
  const gutter = document.createDocumentFragment();
  for (let n = 1; n <= lines; n++) {
    const div = document.createElement("div");
    div.textContent = n;
    const p = marks.get(n);
    if (p) {
      div.className = p.severity;
      div.title = p.message;
    }
    gutter.appendChild(div);
  }
  $("gutter").replaceChildren(gutter);
  // The textarea grows with its text so the editor scrolls as one.
  const code = $("text");
  code.style.height = "0";
  code.style.height = `${Math.max(code.scrollHeight, $("highlight").scrollHeight)}px`;
  code.style.width = `${Math.max($("highlight").scrollWidth, code.parentElement.clientWidth)}px`;
}

function showCheck(result) {
  const box = $("check");
  const problems = result.problems || [];
  paint(problems);
  if (problems.length === 0) {
    box.className = "check good";
    box.textContent = `ok: ${result.kind} \`${result.name}\`, entrypoint ${result.entrypoint}() found` +
      (result.functions.length ? ` (functions: ${result.functions.join(", ")})` : "");
  } else {
    box.className = "check bad";
    box.textContent = problems.map((p) => `${p.line ? `line ${p.line}` : "file"}: ${p.severity}: ${p.message}`).join("\n");
  }
  if (state.open && result.kind && result.kind !== state.open.kind) {
    state.open.kind = result.kind;
    showRunForm();
  }
}

function scheduleCheck() {
  clearTimeout(state.checkTimer);
  state.checkTimer = setTimeout(checkNow, 350);
}

async function checkNow() {
  if (!state.open) return;
  const seq = ++state.checkSeq;
  const { ok, data } = await api("POST", "/_blogmark/api/check", { slug: state.open.slug, text: $("text").value });
  if (seq !== state.checkSeq) return; // a later keystroke's check wins
  if (ok) showCheck(data);
  else $("check").textContent = data.error || "the check failed";
}

function setDirty() {
  const dirty = state.open && $("text").value !== state.open.saved;
  $("dirty").textContent = dirty ? "● unsaved" : "";
  $("save").disabled = !writable || !state.open || !dirty;
  document.title = `${dirty ? "● " : ""}${state.open ? state.open.path : "Scripts"} · Blogmark workbench`;
}

function statusClass(s) {
  if (!s.enabled) return "off";
  if (s.status === "ok") return "";
  if (s.status === "shadowed") return "warn";
  return "bad";
}

function renderList() {
  const list = $("scripts");
  list.replaceChildren(...state.scripts.map((s) => {
    const li = document.createElement("li");
    li.dataset.slug = s.slug;
    if (state.open && state.open.slug === s.slug) li.className = "selected";
    const name = document.createElement("div");
    name.className = "name";
    name.textContent = s.name;
    const meta = document.createElement("div");
    meta.className = "meta";
    const dot = document.createElement("span");
    dot.className = `status ${statusClass(s)}`;
    const label = document.createElement("span");
    label.className = "status-text";
    const p50 = s.numbers.p50_us != null ? ` · p50 ${(s.numbers.p50_us / 1000).toFixed(2)} ms` : "";
    label.textContent = `${s.kind} · ${s.enabled ? s.status : "disabled"}${p50}`;
    meta.append(dot, label);
    li.title = s.detail || s.path;
    li.append(name, meta);
    li.addEventListener("click", () => openScript(s.slug));
    return li;
  }));
}

async function refreshList() {
  const { ok, data } = await api("GET", "/_blogmark/api/scripts");
  if (!ok) { notice(data.error || "cannot list the scripts"); return; }
  state.scripts = data.scripts;
  renderList();
  const open = state.open && state.scripts.find((s) => s.slug === state.open.slug);
  if (state.open && !open) {
    showConflict("This script was deleted on disk.", null);
  } else if (open) {
    state.open.enabled = open.enabled;
    $("toggle").textContent = open.enabled ? "Disable" : "Enable";
    showNumbers(open);
    if (open.version !== state.open.version && !state.conflict) {
      if ($("text").value === state.open.saved) await openScript(open.slug, true);
      else showConflict("The file changed on disk since you opened it.", null);
    }
  }
}

function showNumbers(s) {
  const n = s.numbers;
  const ms = (us) => (us == null ? "–" : `${(us / 1000).toFixed(2)} ms`);
  const rows = [
    ["Renders that called it", n.renders],
    ["Calls", n.calls],
    ["Failures", n.failures],
    ["Failures in the last render", n.failures_last],
    ["p50 (last render that ran it)", ms(n.p50_us)],
    ["p95", ms(n.p95_us)],
    ["Status", s.enabled ? s.status : "disabled"],
  ];
  if (s.detail) rows.push(["", s.detail]);
  $("numbers").replaceChildren(...rows.map(([k, v]) => {
    const tr = document.createElement("tr");
    const th = document.createElement("th");
    th.textContent = k;
    const td = document.createElement("td");
    td.textContent = v;
    tr.append(th, td);
    return tr;
  }));
}

function showRunForm() {
  const kind = state.open ? state.open.kind : null;
  $("macro-form").hidden = kind !== "macro";
  $("transform-form").hidden = kind !== "transform";
  $("hook-form").hidden = kind !== "hook";
  $("generator-form").hidden = kind !== "generator";
}

async function openScript(slug, quiet = false) {
  if (!quiet && state.open && $("text").value !== state.open.saved &&
      !confirm(`Discard your changes to ${state.open.path}?`)) return;
  const { ok, data } = await api("GET", `/_blogmark/api/scripts/${encodeURIComponent(slug)}`);
  if (!ok) { notice(data.error); return; }
  const entry = state.scripts.find((s) => s.slug === slug) || { kind: "macro", enabled: true };
  state.open = { slug, path: data.path, version: data.version, kind: entry.kind, enabled: entry.enabled, saved: data.text };
  hideConflict();
  const text = $("text");
  text.disabled = false;
  text.readOnly = !writable;
  text.value = data.text;
  $("file").textContent = data.path;
  $("toggle").textContent = entry.enabled ? "Disable" : "Enable";
  $("toggle").disabled = !writable;
  $("delete").disabled = !writable;
  history.replaceState(null, "", `#${slug}`);
  renderList();
  if (entry.numbers) showNumbers(entry);
  showRunForm();
  setDirty();
  paint();
  checkNow();
}

function showConflict(text, current) {
  state.conflict = { current };
  $("conflict-text").textContent = text;
  $("conflict").hidden = false;
}

function hideConflict() {
  state.conflict = null;
  $("conflict").hidden = true;
}

async function save(overwrite = false) {
  if (!state.open) return;
  const version = overwrite && state.conflict ? (state.conflict.current ? state.conflict.current.version : null)
    : state.open.version;
  const text = $("text").value;
  const { ok, status, data } = await api("PUT", `/_blogmark/api/scripts/${state.open.slug}`, { text, version });
  if (ok) {
    state.open.version = data.version;
    state.open.saved = text;
    hideConflict();
    notice(`Saved ${state.open.path}`);
    setDirty();
  } else if (status === 409) {
    showConflict(`Not saved: ${data.error}.`, data.current);
  } else {
    notice(`Not saved: ${data.error}`);
  }
}

async function loadDisk() {
  if (!state.open) return;
  hideConflict();
  const slug = state.open.slug;
  state.open.saved = $("text").value; // discard without asking: the user chose
  await refreshList();
  if (state.scripts.some((s) => s.slug === slug)) await openScript(slug, true);
  else closeEditor();
}

function closeEditor() {
  state.open = null;
  $("text").value = "";
  $("text").disabled = true;
  $("file").textContent = "No script open";
  for (const id of ["save", "toggle", "delete"]) $(id).disabled = true;
  $("check").textContent = "Open a script, or create one.";
  showRunForm();
  setDirty();
  paint();
  renderList();
}

async function toggleEnabled() {
  if (!state.open) return;
  const enabled = !state.open.enabled;
  const { ok, status, data } = await api("POST", `/_blogmark/api/scripts/${state.open.slug}/enabled`,
    { version: state.open.version, enabled });
  if (ok) {
    notice(`${enabled ? "Enabled" : "Disabled"} ${state.open.path}`);
    await refreshList();
  } else if (status === 409) {
    showConflict(`Not changed: ${data.error}.`, data.current);
  } else {
    notice(data.error);
  }
}

async function deleteScript() {
  if (!state.open || !confirm(`Delete ${state.open.path}? This cannot be undone.`)) return;
  const { ok, status, data } = await api("DELETE", `/_blogmark/api/scripts/${state.open.slug}`,
    { version: state.open.version });
  if (ok) {
    notice(`Deleted ${state.open.path}`);
    closeEditor();
    await refreshList();
  } else if (status === 409) {
    showConflict(`Not deleted: ${data.error}.`, data.current);
  } else {
    notice(data.error);
  }
}

async function createScript(event) {
  event.preventDefault();
  const name = $("new-name").value.trim();
  const { ok, data } = await api("POST", "/_blogmark/api/scripts", { name, kind: $("new-kind").value });
  if (!ok) { notice(data.error); return; }
  $("new-form").hidden = true;
  $("new-name").value = "";
  await refreshList();
  await openScript(data.slug);
}

function parseArgs(text) {
  const args = {};
  for (const line of text.split("\n")) {
    const at = line.indexOf("=");
    if (at > 0) args[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  return args;
}

function selectTab(name) {
  for (const tab of document.querySelectorAll(".tab")) tab.classList.toggle("active", tab.dataset.tab === name);
  for (const id of ["rendered", "source", "diff", "output"]) $(id).classList.toggle("active", id === name);
}

function showResult(result, transform) {
  $("result").hidden = false;
  const head = $("result-head");
  const time = `${(result.elapsed_us / 1000).toFixed(2)} ms` + (result.fuel ? ` · ${result.fuel.toLocaleString()} fuel` : "");
  if (result.failure) {
    head.className = "result-head bad";
    head.textContent = `${result.failure.class} · ${time}\n${result.failure.message}`;
  } else if (result.problems.length) {
    head.className = "result-head bad";
    head.textContent = result.problems.map((p) => `${p.file}:${p.line}: ${p.message}`).join("\n");
  } else {
    head.className = "result-head";
    head.textContent = transform ? `${result.diff ? "Changed" : "Unchanged"} · ${time}` : `ok · ${time}`;
  }
  $("rendered").srcdoc = result.html || "";
  $("source").textContent = result.html || "";
  $("diff").replaceChildren(...(result.diff || "").split("\n").map((line) => {
    const span = document.createElement("span");
    span.className = line.startsWith("+") ? "add" : line.startsWith("-") ? "del" : line.startsWith("@@") ? "hunk" : "";
    span.textContent = `${line}\n`;
    return span;
  }));
  const logs = result.logs.map(([level, message]) => `[${level}] ${message}`).join("\n");
  $("output").textContent = `stdout:\n${result.stdout || "(nothing)"}\nstderr:\n${result.stderr || "(nothing)"}` +
    (logs ? `\nlog:\n${logs}` : "");
  for (const tab of document.querySelectorAll(".tab")) {
    tab.hidden = transform ? ["rendered", "source"].includes(tab.dataset.tab) : tab.dataset.tab === "diff";
  }
  selectTab(transform ? "diff" : (result.html != null ? "rendered" : "output"));
}

async function run(event, mode) {
  event.preventDefault();
  if (!state.open) return;
  const transform = mode === "transform";
  const request = { slug: state.open.slug, text: $("text").value };
  if (transform) request.post = $("post").value;
  else if (mode === "hook") request.markdown = $("markdown").value;
  else if (mode === "generator") request.generate = true;
  else {
    request.sample = { args: parseArgs($("args").value), page: $("page").value || null };
    if ($("body").value) request.sample.body = $("body").value;
  }
  notice("Running…");
  const { ok, data } = await api("POST", "/_blogmark/api/run", request);
  notice("");
  if (ok) showResult(data, transform);
  else notice(data.error);
}

async function loadPages() {
  const { ok, data } = await api("GET", "/_blogmark/api/pages");
  if (!ok) return;
  for (const path of data.pages) {
    $("page").append(new Option(path, path));
    $("post").append(new Option(path, path));
  }
}

function listen() {
  const events = new EventSource("/_blogmark/events");
  // A render finished: files may have changed, and the numbers too.
  events.addEventListener("reload", () => refreshList());
}

$("text").addEventListener("input", () => { setDirty(); paint(); scheduleCheck(); });
$("text").addEventListener("keydown", (event) => {
  if (event.key === "Tab") {
    event.preventDefault();
    document.execCommand("insertText", false, "    ");
  }
});
document.addEventListener("keydown", (event) => {
  if ((event.ctrlKey || event.metaKey) && event.key === "s") {
    event.preventDefault();
    if (!$("save").disabled) save();
  }
});
window.addEventListener("beforeunload", (event) => {
  if (state.open && $("text").value !== state.open.saved) event.preventDefault();
});
$("save").addEventListener("click", () => save());
$("overwrite").addEventListener("click", () => save(true));
$("load-disk").addEventListener("click", loadDisk);
$("toggle").addEventListener("click", toggleEnabled);
$("delete").addEventListener("click", deleteScript);
$("new").addEventListener("click", () => { $("new-form").hidden = false; $("new-name").focus(); });
$("new-cancel").addEventListener("click", () => { $("new-form").hidden = true; });
$("new-form").addEventListener("submit", createScript);
$("macro-form").addEventListener("submit", (event) => run(event, "macro"));
$("transform-form").addEventListener("submit", (event) => run(event, "transform"));
$("hook-form").addEventListener("submit", (event) => run(event, "hook"));
$("generator-form").addEventListener("submit", (event) => run(event, "generator"));
for (const tab of document.querySelectorAll(".tab")) tab.addEventListener("click", () => selectTab(tab.dataset.tab));

if (!writable) {
  $("mode").textContent = "read-only (serve listens beyond this machine; --allow-remote-edits allows edits)";
  $("new").disabled = true;
}

(async () => {
  await refreshList();
  await loadPages();
  listen();
  const wanted = decodeURIComponent(location.hash.slice(1));
  const first = state.scripts.find((s) => s.slug === wanted) || state.scripts[0];
  if (first) await openScript(first.slug);
})();

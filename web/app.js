// The page: chat UI on the main thread; the agent, Python and the decoder live in agent_worker.js.
import { clearModels } from "./model_store.js";
const $ = (id) => document.getElementById(id);
const SETTINGS_KEY = "gea-settings";

const ui = {
  status: $("status"),
  progress: $("load-progress"),
  bytes: $("load-bytes"),
  warning: $("warning"),
  messages: $("messages"),
  form: $("ask"),
  question: $("question"),
  send: $("send"),
  stop: $("stop"),
  backend: $("backend"),
  speed: $("speed"),
  settings: $("settings"),
};

// Stop flag shared with the worker: the agent polls it between tokens.
const cancelBuffer = self.crossOriginIsolated ? new SharedArrayBuffer(4) : null;
const cancelFlag = cancelBuffer ? new Int32Array(cancelBuffer) : null;
const worker = new Worker(new URL("./agent_worker.js", import.meta.url), { type: "module" });
let current = null; // the assistant message being written
const downloads = new Map(); // path -> { loaded, total }

function setStatus(text, state) {
  ui.status.textContent = text;
  ui.status.dataset.state = state;
}

function showWarning(text) {
  ui.warning.textContent = text;
  ui.warning.hidden = false;
}

const mb = (n) => `${(n / 1e6).toFixed(1)} MB`;

function onProgress({ stage, path, loaded, total, cached }) {
  downloads.set(path, { loaded, total });
  let sum = 0;
  let all = 0;
  for (const d of downloads.values()) {
    sum += d.loaded;
    all += d.total;
  }
  ui.progress.max = all || 1;
  ui.progress.value = sum;
  ui.progress.dataset.loaded = String(sum);
  ui.progress.dataset.total = String(all);
  ui.bytes.textContent = `${mb(sum)} of ${mb(all)}${cached ? " (stored on this device)" : ""}`;
  // After start-up (e.g. the WebGPU check) the app stays usable: report bytes, keep "ready".
  if (document.body.dataset.ready === "true") ui.bytes.textContent = `Loading the ${stage}: ${ui.bytes.textContent}`;
  else setStatus(`Loading the ${stage}: ${path}`, "loading");
}

function loadSettings() {
  try {
    return JSON.parse(localStorage.getItem(SETTINGS_KEY) ?? "{}");
  } catch {
    return {};
  }
}

function setBusy(busy) {
  ui.question.disabled = busy;
  ui.send.disabled = busy;
  ui.stop.disabled = !busy;
  if (!busy) ui.question.focus();
}

function addMessage(kind, text) {
  const li = document.createElement("li");
  li.className = kind;
  li.textContent = text;
  ui.messages.append(li);
  li.scrollIntoView({ block: "end" });
  return li;
}

function newAssistantMessage() {
  const li = $("assistant-template").content.firstElementChild.cloneNode(true);
  ui.messages.append(li);
  return {
    li,
    steps: li.querySelector(".steps"),
    live: li.querySelector(".live"),
    answer: li.querySelector(".answer"),
    sources: li.querySelector(".sources"),
    stats: li.querySelector(".stats"),
    summary: li.querySelector("summary"),
    count: 0,
  };
}

const LABELS = { thought: "Thought", action: "Action", observation: "Observation", error: "Error" };

function onEvent(json) {
  const event = JSON.parse(json);
  const m = current;
  if (!m) return;
  if (event.kind === "token") {
    if (m.li.dataset.firstTokenMs === undefined) {
      m.li.dataset.firstTokenMs = String(Math.round(performance.now() - m.askedAt));
    }
    m.live.textContent += event.text;
    return;
  }
  m.live.textContent = "";
  if (event.kind === "step") return;
  if (event.kind === "answer") {
    m.answer.textContent = event.text;
    m.answer.dataset.state = "streaming";
    return;
  }
  const li = document.createElement("li");
  li.className = `step ${event.kind}`;
  li.dataset.kind = event.kind;
  if (event.data?.tool) li.dataset.tool = event.data.tool;
  const label = document.createElement("strong");
  label.textContent = `${LABELS[event.kind] ?? event.kind}: `;
  li.append(label, document.createTextNode(event.text)); // model and tool text: never HTML
  m.steps.append(li);
  if (event.kind === "action") m.count += 1;
  m.summary.textContent = `Trace (${m.count} tool call${m.count === 1 ? "" : "s"})`;
}

function onDone(json) {
  const s = JSON.parse(json);
  const m = current;
  current = null;
  setBusy(false);
  if (!m) return;
  if (s.error && !s.answer) {
    m.answer.textContent = s.error;
    m.answer.dataset.state = "error";
    return;
  }
  m.answer.textContent = s.answer;
  m.answer.dataset.state = s.cancelled ? "cancelled" : s.error ? "error" : "done";
  if (s.sources?.length) {
    const ol = m.sources.querySelector("ol");
    for (const src of s.sources) {
      const li = document.createElement("li");
      li.className = "source";
      li.textContent = src.source;
      li.title = src.text;
      ol.append(li);
    }
    m.sources.hidden = false;
  }
  m.stats.textContent =
    `${s.steps} step${s.steps === 1 ? "" : "s"} · ${s.generated_tokens} tokens generated, ` +
    `${s.prefill_tokens} read · ${s.seconds.toFixed(1)} s · decode ${s.decode_tokens_per_second} ` +
    `tok/s, prefill ${s.prefill_tokens_per_second} tok/s`;
  ui.speed.textContent = `${s.decode_tokens_per_second} tok/s`;
  ui.speed.dataset.value = String(s.decode_tokens_per_second);
  m.li.scrollIntoView({ block: "end" });
}

worker.onmessage = ({ data }) => {
  switch (data.type) {
    case "progress":
      onProgress(data);
      break;
    case "status":
      setStatus(data.text, "loading");
      break;
    case "warning":
      showWarning(data.message);
      break;
    case "ready": {
      const info = data.info;
      document.body.dataset.ready = "true";
      ui.backend.textContent = info.backend;
      ui.backend.dataset.value = info.backend;
      setStatus(
        `Ready: ${info.model} on ${info.backend}, tools ${info.tools.join(", ")} ` +
          `(${info.passages} passages) — loaded in ${(info.load_ms / 1000).toFixed(1)} s`,
        "ready",
      );
      document.body.dataset.loadMs = String(info.load_ms);
      document.body.dataset.loadStages = JSON.stringify(info.stages);
      document.body.dataset.readyMs = String(Math.round(performance.now()));
      ui.progress.hidden = true;
      setBusy(false);
      break;
    }
    case "warm": // the instructions are in the decoder's cache (web/agent_worker.js warmUp)
      document.body.dataset.warmTokens = String(data.tokens);
      document.body.dataset.warmMs = String(data.ms);
      break;
    case "event":
      onEvent(data.event);
      break;
    case "done":
      onDone(data.summary);
      break;
    case "documents":
      showDocuments(data.documents, data.errors);
      break;
    case "status-documents":
      $("doc-status").textContent = data.text;
      break;
    case "webgpu-check":
      document.body.dataset.webgpuCheck = JSON.stringify(data);
      break;
    case "configured":
      localStorage.setItem(SETTINGS_KEY, data.settings);
      break;
    case "fatal":
      if (data.during === "configure") {
        $("settings-error").textContent = lastLine(data.message);
        $("settings-error").hidden = false;
        break;
      }
      setStatus(`${data.kind === "integrity" ? "Refused: " : "Failed: "}${lastLine(data.message)}`, "error");
      if (current) onDone(JSON.stringify({ error: lastLine(data.message) }));
      break;
    default:
      break;
  }
};
worker.onerror = (e) => setStatus(`The agent's worker failed: ${e.message}`, "error");

// Python exceptions arrive with their traceback: the last line is the message.
const lastLine = (text) => String(text).trim().split("\n").pop();

ui.form.addEventListener("submit", (e) => {
  e.preventDefault();
  const question = ui.question.value.trim();
  if (!question || current) return;
  addMessage("user", question);
  current = newAssistantMessage();
  current.askedAt = performance.now();
  ui.question.value = "";
  setBusy(true);
  worker.postMessage({ type: "ask", question });
});

ui.question.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey) {
    e.preventDefault();
    ui.form.requestSubmit();
  }
});

function stop() {
  if (cancelFlag && current) Atomics.store(cancelFlag, 0, 1);
}
ui.stop.addEventListener("click", stop);
document.addEventListener("keydown", (e) => {
  if (e.key === "Escape" && current) stop();
});

// Settings
const fields = {
  constrained: [$("set-constrained"), (el) => el.checked, (el, v) => (el.checked = v)],
  max_steps: [$("set-max-steps"), (el) => Number(el.value), (el, v) => (el.value = v)],
  temperature: [$("set-temperature"), (el) => Number(el.value), (el, v) => (el.value = v)],
  top_k: [$("set-top-k"), (el) => Number(el.value), (el, v) => (el.value = v)],
  top_p: [$("set-top-p"), (el) => Number(el.value), (el, v) => (el.value = v)],
};
$("open-settings").addEventListener("click", () => {
  $("settings-error").hidden = true;
  ui.settings.showModal();
});
$("settings-form").addEventListener("submit", (e) => {
  if (e.submitter?.value !== "save") return;
  const chosen = $("set-backend").value;
  if (chosen !== backend) {
    // The engine is chosen when the worker starts: start again with the other one.
    localStorage.setItem(BACKEND_KEY, chosen);
    location.reload();
    return;
  }
  const settings = {};
  for (const [name, [el, get]] of Object.entries(fields)) settings[name] = get(el);
  worker.postMessage({ type: "configure", settings });
});
$("new-chat").addEventListener("click", () => {
  ui.messages.replaceChildren();
  worker.postMessage({ type: "reset" });
  ui.settings.close();
});
$("clear-data").addEventListener("click", async () => {
  if (!confirm("Remove the stored model, index and settings from this device?")) return;
  localStorage.clear();
  worker.terminate(); // it holds the documents database open
  await new Promise((resolve) => {
    const req = indexedDB.deleteDatabase("gea-documents");
    req.onsuccess = req.onerror = req.onblocked = resolve;
  });
  await clearModels(); // the stored model, index and embedder files
  for (const name of await caches.keys()) await caches.delete(name);
  for (const reg of (await navigator.serviceWorker?.getRegistrations()) ?? []) await reg.unregister();
  location.reload();
});

async function probeWebGpu() {
  const note = $("webgpu-note");
  if (!("gpu" in navigator)) {
    note.textContent = "This browser has no WebGPU.";
    return;
  }
  const adapter = await navigator.gpu.requestAdapter().catch(() => null);
  if (adapter) $("set-backend").querySelector("[value=webgpu]").disabled = false;
  const soft = adapter?.info?.isFallbackAdapter || adapter?.info?.vendor === "google";
  note.textContent = adapter
    ? `WebGPU adapter: ${adapter.info?.vendor || "unknown"} ${adapter.info?.architecture || ""}` +
      (soft ? " (a software fallback: much slower than WASM here)" : "")
    : "No WebGPU adapter: the WASM backend is used.";
}

// Documents
const MAX_FILE_BYTES = 5_000_000;

function showDocuments(documents, errors = []) {
  const list = $("doc-list");
  list.replaceChildren();
  for (const doc of documents) {
    const li = document.createElement("li");
    li.dataset.name = doc.name;
    const label = document.createElement("span");
    label.textContent = `${doc.name} — ${doc.passages} passage${doc.passages === 1 ? "" : "s"}, ${(doc.size / 1000).toFixed(1)} kB`;
    const remove = document.createElement("button");
    remove.type = "button";
    remove.textContent = "Remove";
    remove.setAttribute("aria-label", `Remove ${doc.name}`);
    remove.addEventListener("click", () => worker.postMessage({ type: "remove-document", id: doc.id }));
    li.append(label, " ", remove);
    list.append(li);
  }
  $("doc-count").textContent = String(documents.length);
  $("doc-status").textContent = errors.join(" ");
  $("doc-status").dataset.state = errors.length ? "error" : "";
}

async function addFiles(fileList) {
  const status = $("doc-status");
  status.dataset.state = "";
  const files = [];
  for (const file of fileList) {
    if (file.size > MAX_FILE_BYTES) {
      status.textContent = `${file.name} is larger than ${MAX_FILE_BYTES / 1e6} MB: not added.`;
      status.dataset.state = "error";
      continue;
    }
    files.push({ name: file.name, size: file.size, text: await file.text() });
  }
  if (files.length) {
    status.textContent = `Adding ${files.map((f) => f.name).join(", ")}…`;
    worker.postMessage({ type: "add-documents", files });
  }
}

$("doc-files").addEventListener("change", (e) => {
  addFiles(Array.from(e.target.files)); // a copy: clearing the input empties its FileList
  e.target.value = "";
});
document.addEventListener("dragover", (e) => e.preventDefault());
document.addEventListener("drop", (e) => {
  e.preventDefault();
  if (e.dataTransfer?.files?.length) {
    $("documents").open = true;
    addFiles(Array.from(e.dataTransfer.files));
  }
});

// For tests and the curious (devtools): greedy tokens of WASM and WebGPU on one prompt.
window.geaWebgpuCheck = (steps = 3) => worker.postMessage({ type: "webgpu-check", steps });

const saved = loadSettings();
for (const [name, [el, , set]] of Object.entries(fields)) if (name in saved) set(el, saved[name]);
const BACKEND_KEY = "gea-backend";
const backend = localStorage.getItem(BACKEND_KEY) === "webgpu" ? "webgpu" : "wasm";
$("set-backend").value = backend;
worker.postMessage({ type: "init", settings: saved, cancelBuffer, backend });
probeWebGpu();
if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/sw.js", { type: "classic", scope: "/" }).catch((err) => {
    showWarning(`Offline use is off: the service worker did not register (${err.message}).`);
  });
}

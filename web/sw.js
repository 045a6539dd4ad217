// Service worker: keeps the app shell, Pyodide and the wasm modules (build/precache.json) so the
// page reloads without a server. Model and index files are stored by model_store.js after their
// sha256 is checked; this worker only hands them back from that cache when the network is gone.
const SHELL_PREFIX = "gea-shell-";
const MODEL_CACHE = "gea-models-v1"; // same name as in model_store.js
const RUNTIME_CACHE = "gea-runtime-v1"; // onnxruntime-web: kept once the WebGPU backend used it

async function precacheList() {
  const response = await fetch("/build/precache.json", { cache: "no-store" });
  if (!response.ok) throw new Error(`precache.json: HTTP ${response.status}`);
  return response.json();
}

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const { version, urls } = await precacheList();
      const cache = await caches.open(SHELL_PREFIX + version);
      // All or nothing: a half-filled shell cache is never used (addAll rejects on any failure).
      await cache.addAll(urls.map((url) => new Request(url, { cache: "no-store" })));
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      const { version } = await precacheList().catch(() => ({ version: null }));
      if (version) {
        for (const name of await caches.keys()) {
          if (name.startsWith(SHELL_PREFIX) && name !== SHELL_PREFIX + version) await caches.delete(name);
        }
      }
      await self.clients.claim();
    })(),
  );
});

async function fromShell(request) {
  for (const name of await caches.keys()) {
    if (!name.startsWith(SHELL_PREFIX)) continue;
    const hit = await (await caches.open(name)).match(request, { ignoreSearch: true });
    if (hit) return hit;
  }
  return undefined;
}

// Network first (the dev server always revalidates, so edits show up), the stored copy when
// the network fails. Model files are large: they are not copied here, model_store.js keeps them.
async function respond(request) {
  const url = new URL(request.url);
  try {
    const response = await fetch(request);
    if (response.ok && url.pathname.startsWith("/ort/")) {
      await (await caches.open(RUNTIME_CACHE)).put(request, response.clone());
    }
    if (response.ok || response.status === 304) return response;
    throw new Error(`HTTP ${response.status}`);
  } catch (err) {
    const stored =
      (await fromShell(request)) ??
      (await (await caches.open(MODEL_CACHE)).match(request, { ignoreSearch: true })) ??
      (await (await caches.open(RUNTIME_CACHE)).match(request, { ignoreSearch: true }));
    if (stored) return stored;
    if (url.pathname === "/" || request.mode === "navigate") {
      const shell = await fromShell(new Request("/"));
      if (shell) return shell;
    }
    return new Response(`offline and not stored: ${url.pathname}`, {
      status: 503,
      headers: { "content-type": "text/plain" },
    });
  }
}

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  event.respondWith(respond(event.request));
});

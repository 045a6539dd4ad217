// Model and index files, read only through their manifest.json (size + sha256 per file): downloaded
// with progress, verified, kept on the device, and never used when they do not match.
// Verified files live in the origin private file system (OPFS), named by their sha256: reading
// 300 MB back from there is several times faster than from the Cache API. Browsers without OPFS
// use the Cache API. Manifests (small, needed offline) stay in the Cache API.

export const MODEL_CACHE = "gea-models-v1";
export const MODEL_DIR = "gea-models";
const RETRIES = 3;

export class StoreError extends Error {
  constructor(message, kind) {
    super(message);
    this.name = "StoreError";
    this.kind = kind; // "integrity" | "network" | "quota" | "manifest"
  }
}

async function sha256Hex(bytes) {
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** manifest.json of a folder URL ("/models/gemma-3-270m/"): network first, the cached copy offline. */
export async function loadManifest(folderUrl) {
  const url = new URL("manifest.json", new URL(folderUrl, self.location.href)).href;
  const cache = await caches.open(MODEL_CACHE);
  let response;
  try {
    response = await fetch(url, { cache: "no-cache" });
    if (!response.ok) throw new StoreError(`${url}: HTTP ${response.status}`, "manifest");
    await cache.put(url, response.clone());
  } catch (err) {
    response = await cache.match(url);
    if (!response) {
      throw new StoreError(`cannot load ${url} (${err.message}) and no copy is stored`, "manifest");
    }
  }
  let doc;
  try {
    doc = await response.json();
  } catch {
    throw new StoreError(`${url} is not valid JSON`, "manifest");
  }
  if (!Array.isArray(doc.files)) throw new StoreError(`${url} lists no files`, "manifest");
  const files = new Map(doc.files.map((f) => [f.path, f]));
  return { url, folder: new URL(".", url).href, doc, files };
}

async function modelDir() {
  if (!navigator.storage?.getDirectory) return null;
  try {
    return await (await navigator.storage.getDirectory()).getDirectoryHandle(MODEL_DIR, { create: true });
  } catch {
    return null; // e.g. a private window without OPFS: fall back to the Cache API
  }
}

/** The stored bytes of a manifest entry, or null when not stored (or stored wrong). */
async function readStored(url, entry) {
  const dir = await modelDir();
  if (dir) {
    try {
      const file = await (await dir.getFileHandle(entry.sha256)).getFile();
      if (file.size === entry.size) return new Uint8Array(await file.arrayBuffer());
    } catch {
      // not stored
    }
    return null;
  }
  const hit = await (await caches.open(MODEL_CACHE)).match(url);
  if (!hit || hit.headers.get("x-gea-sha256") !== entry.sha256) return null;
  const bytes = new Uint8Array(await hit.arrayBuffer());
  return bytes.length === entry.size ? bytes : null;
}

async function isStored(url, entry) {
  const dir = await modelDir();
  if (dir) {
    try {
      return (await (await dir.getFileHandle(entry.sha256)).getFile()).size === entry.size;
    } catch {
      return false;
    }
  }
  const hit = await (await caches.open(MODEL_CACHE)).match(url);
  return Boolean(hit && hit.headers.get("x-gea-sha256") === entry.sha256);
}

/** Bytes still needed to store `paths` (those not stored with the manifest's digest). */
export async function missingBytes(manifest, paths) {
  let total = 0;
  for (const path of paths) {
    const entry = entryOf(manifest, path);
    if (!(await isStored(new URL(path, manifest.folder).href, entry))) total += entry.size;
  }
  return total;
}

function entryOf(manifest, path) {
  const entry = manifest.files.get(path);
  if (!entry) throw new StoreError(`${manifest.url} does not list ${path}`, "manifest");
  return entry;
}

/** Storage left for the origin, in bytes (null when the browser does not say). */
export async function storageLeft() {
  if (!navigator.storage?.estimate) return null;
  const { quota, usage } = await navigator.storage.estimate();
  return quota === undefined ? null : quota - (usage ?? 0);
}

async function download(url, size, onBytes) {
  const response = await fetch(url, { cache: "no-store" });
  if (!response.ok) throw new StoreError(`${url}: HTTP ${response.status}`, "network");
  const out = new Uint8Array(size);
  let offset = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (offset + value.length > size) {
      await reader.cancel();
      throw new StoreError(`${url} is larger than its manifest says (${size} bytes)`, "integrity");
    }
    out.set(value, offset);
    offset += value.length;
    onBytes(value.length);
  }
  if (offset !== size) {
    // The server sent a whole file of another size: a different file, not a broken transfer.
    if (Number(response.headers.get("content-length")) === offset) {
      throw new StoreError(
        `${url.split("/").pop()} failed verification: it is ${offset} bytes, the manifest says ` +
          `${size} — the file was changed or corrupted; not used`,
        "integrity",
      );
    }
    throw new StoreError(`${url} ended after ${offset} of ${size} bytes`, "network");
  }
  return out;
}

/**
 * The verified bytes of `path` in the manifest's folder: from the cache when stored with the
 * manifest's digest, else downloaded (retried on network errors), checked, then stored.
 * `onProgress({ path, loaded, total })` follows the bytes; a mismatch throws ("integrity").
 */
export async function fetchVerified(manifest, path, onProgress = () => {}) {
  const entry = entryOf(manifest, path);
  const url = new URL(path, manifest.folder).href;
  const stored = await readStored(url, entry);
  if (stored) {
    onProgress({ path, loaded: entry.size, total: entry.size, cached: true });
    return stored;
  }
  let lastError;
  for (let attempt = 1; attempt <= RETRIES; attempt++) {
    let loaded = 0;
    try {
      const bytes = await download(url, entry.size, (n) => {
        loaded += n;
        onProgress({ path, loaded, total: entry.size, cached: false });
      });
      const digest = await sha256Hex(bytes);
      if (digest !== entry.sha256) {
        throw new StoreError(
          `${path} failed verification: its sha256 is ${digest.slice(0, 12)}…, the manifest ` +
            `says ${entry.sha256.slice(0, 12)}… — the file was changed or corrupted; not used`,
          "integrity",
        );
      }
      try {
        await store(url, bytes, entry);
      } catch (err) {
        onProgress({ path, loaded, total: entry.size, cached: false, warning: err.message });
      }
      return bytes;
    } catch (err) {
      if (err instanceof StoreError && err.kind === "integrity") throw err;
      lastError = err;
      await new Promise((r) => setTimeout(r, 250 * attempt));
    }
  }
  throw new StoreError(`could not download ${path}: ${lastError?.message ?? lastError}`, "network");
}

async function writeFile(dir, name, bytes) {
  // Written under a temporary name and renamed: a half-written file is never taken as stored.
  const part = await dir.getFileHandle(`${name}.part`, { create: true });
  if (part.createSyncAccessHandle) {
    const handle = await part.createSyncAccessHandle(); // workers: no copy through a stream
    try {
      handle.truncate(0);
      handle.write(bytes, { at: 0 });
      handle.flush();
    } finally {
      handle.close();
    }
  } else {
    const writable = await part.createWritable();
    await writable.write(bytes);
    await writable.close();
  }
  await part.move(name);
}

async function store(url, bytes, entry) {
  try {
    const dir = await modelDir();
    if (dir) {
      await writeFile(dir, entry.sha256, bytes);
      return;
    }
    const headers = {
      "content-type": "application/octet-stream",
      "content-length": String(bytes.length),
      "x-gea-sha256": entry.sha256,
    };
    await (await caches.open(MODEL_CACHE)).put(url, new Response(bytes, { headers }));
  } catch (err) {
    // Usable now, but it will be downloaded again next time: the caller says so, does not fail.
    const name = url.split("/").pop();
    const why = err?.name === "QuotaExceededError" ? "not enough storage" : err?.message ?? err;
    throw new StoreError(
      `${name} (${(entry.size / 1e6).toFixed(0)} MB) could not be kept for offline use: ${why}. ` +
        "It works now but will be downloaded again next time.",
      "quota",
    );
  }
}

/** Removes every stored model and index file (the settings' "clear all local data"). */
export async function clearModels() {
  await caches.delete(MODEL_CACHE);
  const root = await navigator.storage?.getDirectory?.();
  await root?.removeEntry(MODEL_DIR, { recursive: true }).catch(() => {});
}

// The user's own documents, kept in IndexedDB (they survive reloads and work offline): name,
// size, when added, their passages (from py_agent's chunker) and one embedding per passage.
const DB_NAME = "gea-documents";
const STORE = "documents";

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

let dbPromise = null;
function db() {
  dbPromise ??= new Promise((resolve, reject) => {
    const open = indexedDB.open(DB_NAME, 1);
    open.onupgradeneeded = () => open.result.createObjectStore(STORE, { keyPath: "id" });
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
  return dbPromise;
}

async function store(mode) {
  return (await db()).transaction(STORE, mode).objectStore(STORE);
}

/** Every stored document, oldest first (the order of their rows in the search indexes). */
export async function listDocuments() {
  const all = await request((await store("readonly")).getAll());
  return all.sort((a, b) => a.added - b.added || a.id.localeCompare(b.id));
}

/** @param {{name, size, passages, vectors: Float32Array[]}} doc */
export async function putDocument(doc) {
  const stored = { ...doc, id: crypto.randomUUID(), added: Date.now() };
  await request((await store("readwrite")).put(stored));
  return stored;
}

export async function deleteDocument(id) {
  await request((await store("readwrite")).delete(id));
}

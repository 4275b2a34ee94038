// What the checkpoint page keeps on the phone, in IndexedDB: the last offline bundle of each
// checkpoint, and a journal of scans. A scan stays "pending" until the server has acknowledged it
// (stored or duplicate); acknowledged ones are kept only until the next bundle includes them.
//
// A browser that has no IndexedDB, or refuses to open it (some private modes), gets the same
// functions over memory: the page works while it stays open, scans wait there for the network, and
// isPersistent() tells the page to warn that closing it loses them.

const DB_NAME = "linli-gate";
const DB_VERSION = 1;

let opened = null;
let memory = null; // {scans: Map, bundles: Map} when IndexedDB could not be opened

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

export function openDb() {
  if (!opened) {
    opened = new Promise((resolve, reject) => {
      const req = indexedDB.open(DB_NAME, DB_VERSION);
      req.onupgradeneeded = () => {
        const db = req.result;
        const scans = db.createObjectStore("scans", { keyPath: "uuid" });
        scans.createIndex("checkpoint", "checkpoint");
        db.createObjectStore("bundles", { keyPath: "checkpoint" });
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }
  return opened;
}

/** The database, or null when the browser cannot keep one (then the journal lives in memory). */
async function database() {
  if (memory) return null;
  try {
    return await openDb();
  } catch (err) {
    memory = { scans: new Map(), bundles: new Map() };
    return null;
  }
}

/** Whether what is stored here survives closing the page (false: IndexedDB could not be opened). */
export async function isPersistent() {
  return (await database()) !== null;
}

export async function putScan(record) {
  const db = await database();
  if (!db) return void memory.scans.set(record.uuid, structuredClone(record));
  const tx = db.transaction("scans", "readwrite");
  tx.objectStore("scans").put(record);
  await done(tx);
}

export async function updateScans(records) {
  if (!records.length) return;
  const db = await database();
  if (!db) return void records.forEach((record) => memory.scans.set(record.uuid, structuredClone(record)));
  const tx = db.transaction("scans", "readwrite");
  const store = tx.objectStore("scans");
  for (const record of records) store.put(record);
  await done(tx);
}

export async function deleteScans(uuids) {
  if (!uuids.length) return;
  const db = await database();
  if (!db) return void uuids.forEach((uuid) => memory.scans.delete(uuid));
  const tx = db.transaction("scans", "readwrite");
  const store = tx.objectStore("scans");
  for (const uuid of uuids) store.delete(uuid);
  await done(tx);
}

/** Every journal entry of one checkpoint, oldest first. */
export async function scansOf(checkpoint) {
  const db = await database();
  let rows;
  if (db) {
    const tx = db.transaction("scans", "readonly");
    rows = await request(tx.objectStore("scans").index("checkpoint").getAll(checkpoint));
  } else {
    rows = [...memory.scans.values()].filter((row) => row.checkpoint === checkpoint).map((row) => structuredClone(row));
  }
  return rows.sort((a, b) => a.seq - b.seq);
}

export async function putBundle(checkpoint, bundle, fetchedAt) {
  const db = await database();
  if (!db) return void memory.bundles.set(checkpoint, { checkpoint, bundle, fetchedAt });
  const tx = db.transaction("bundles", "readwrite");
  tx.objectStore("bundles").put({ checkpoint, bundle, fetchedAt });
  await done(tx);
}

export async function getBundle(checkpoint) {
  const db = await database();
  if (!db) return memory.bundles.get(checkpoint) || null;
  const tx = db.transaction("bundles", "readonly");
  return (await request(tx.objectStore("bundles").get(checkpoint))) || null;
}

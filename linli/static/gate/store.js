// What the checkpoint page keeps on the phone, in IndexedDB: the last offline bundle of each
// checkpoint, and a journal of scans. A scan stays "pending" until the server has acknowledged it
// (stored or duplicate); acknowledged ones are kept only until the next bundle includes them.

const DB_NAME = "linli-gate";
const DB_VERSION = 1;

let opened = null;

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

export async function putScan(record) {
  const db = await openDb();
  const tx = db.transaction("scans", "readwrite");
  tx.objectStore("scans").put(record);
  await done(tx);
}

export async function updateScans(records) {
  if (!records.length) return;
  const db = await openDb();
  const tx = db.transaction("scans", "readwrite");
  const store = tx.objectStore("scans");
  for (const record of records) store.put(record);
  await done(tx);
}

export async function deleteScans(uuids) {
  if (!uuids.length) return;
  const db = await openDb();
  const tx = db.transaction("scans", "readwrite");
  const store = tx.objectStore("scans");
  for (const uuid of uuids) store.delete(uuid);
  await done(tx);
}

/** Every journal entry of one checkpoint, oldest first. */
export async function scansOf(checkpoint) {
  const db = await openDb();
  const tx = db.transaction("scans", "readonly");
  const rows = await request(tx.objectStore("scans").index("checkpoint").getAll(checkpoint));
  return rows.sort((a, b) => a.seq - b.seq);
}

export async function putBundle(checkpoint, bundle, fetchedAt) {
  const db = await openDb();
  const tx = db.transaction("bundles", "readwrite");
  tx.objectStore("bundles").put({ checkpoint, bundle, fetchedAt });
  await done(tx);
}

export async function getBundle(checkpoint) {
  const db = await openDb();
  const tx = db.transaction("bundles", "readonly");
  return (await request(tx.objectStore("bundles").get(checkpoint))) || null;
}

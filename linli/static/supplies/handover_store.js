// What the hand-over page keeps on the phone, in IndexedDB: a journal of scans per account. A scan
// stays "pending" until the server has answered it (stored, already delivered, or refused); answered
// scans are deleted, refused ones kept as "rejected" so the volunteer sees why.

const DB_NAME = "linli-delivery";
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
        const scans = req.result.createObjectStore("scans", { keyPath: "uuid" });
        scans.createIndex("user", "user");
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }
  return opened;
}

export async function putScans(records) {
  if (!records.length) return;
  const db = await openDb();
  const tx = db.transaction("scans", "readwrite");
  for (const record of records) tx.objectStore("scans").put(record);
  await done(tx);
}

export async function deleteScans(uuids) {
  if (!uuids.length) return;
  const db = await openDb();
  const tx = db.transaction("scans", "readwrite");
  for (const uuid of uuids) tx.objectStore("scans").delete(uuid);
  await done(tx);
}

/** Every journal entry of one account, oldest first. */
export async function scansOf(user) {
  const db = await openDb();
  const tx = db.transaction("scans", "readonly");
  const rows = await request(tx.objectStore("scans").index("user").getAll(user));
  return rows.sort((a, b) => a.seq - b.seq);
}

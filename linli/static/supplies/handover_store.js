// What the hand-over page keeps on the phone, in IndexedDB: a journal of scans per account. A scan
// stays "pending" until the server has answered it (stored, already delivered, or refused); answered
// scans are deleted, refused ones kept as "rejected" so the volunteer sees why. And the door photos
// taken without network, one per package code, until the server has them.

const DB_NAME = "linli-delivery";
const DB_VERSION = 2;

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
        if (!db.objectStoreNames.contains("scans")) {
          db.createObjectStore("scans", { keyPath: "uuid" }).createIndex("user", "user");
        }
        if (!db.objectStoreNames.contains("photos")) {
          db.createObjectStore("photos", { keyPath: "code" }).createIndex("user", "user");
        }
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

/** Keep a door photo ({code, user, blob, at}) until it is uploaded; a newer photo of the code replaces it. */
export async function putPhoto(record) {
  const db = await openDb();
  const tx = db.transaction("photos", "readwrite");
  tx.objectStore("photos").put(record);
  await done(tx);
}

export async function deletePhoto(code) {
  const db = await openDb();
  const tx = db.transaction("photos", "readwrite");
  tx.objectStore("photos").delete(code);
  await done(tx);
}

/** The door photos one account still has to upload, oldest first. */
export async function photosOf(user) {
  const db = await openDb();
  const tx = db.transaction("photos", "readonly");
  const rows = await request(tx.objectStore("photos").index("user").getAll(user));
  return rows.sort((a, b) => a.at - b.at);
}

// What the checkpoint page keeps on the phone (linli/kept.js: IndexedDB, or memory when the browser
// cannot keep anything): the last offline bundle of each checkpoint, and a journal of scans. A scan
// stays "pending" until the server has acknowledged it (stored or duplicate); acknowledged ones are
// kept only until the next bundle includes them.

import { Kept } from "../linli/kept.js";

const kept = new Kept("linli-gate", 1, {
  scans: { key: "uuid", index: "checkpoint" },
  bundles: { key: "checkpoint" },
});

/** Whether what is stored here survives closing the page (false: IndexedDB could not be opened). */
export function isPersistent() {
  return kept.persistent();
}

export function putScan(record) {
  return kept.put("scans", [record]);
}

export function updateScans(records) {
  return kept.put("scans", records);
}

export function deleteScans(uuids) {
  return kept.delete("scans", uuids);
}

/** Every journal entry of one checkpoint, oldest first. */
export async function scansOf(checkpoint) {
  return (await kept.allWith("scans", checkpoint)).sort((a, b) => a.seq - b.seq);
}

/** Every journal entry on this phone, of every checkpoint (and entries older than the checkpoint field), oldest first. */
export async function allScans() {
  return (await kept.all("scans")).sort((a, b) => a.seq - b.seq);
}

export function putBundle(checkpoint, bundle, fetchedAt) {
  return kept.put("bundles", [{ checkpoint, bundle, fetchedAt }]);
}

export function getBundle(checkpoint) {
  return kept.get("bundles", checkpoint);
}

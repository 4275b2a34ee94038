// What the hand-over page keeps on the phone (linli/kept.js: IndexedDB, or memory when the browser
// cannot keep anything): a journal of scans per account. A scan stays "pending" until the server has
// answered it (stored, already delivered, or refused); answered scans are deleted, refused ones kept
// as "rejected" so the volunteer sees why. And the door photos taken without network, one per
// package code, until the server has them.

import { Kept } from "../linli/kept.js";

const kept = new Kept("linli-delivery", 2, {
  scans: { key: "uuid", index: "user" },
  photos: { key: "code", index: "user" },
});

/** Whether what is stored here survives closing the page (false: IndexedDB could not be opened). */
export function isPersistent() {
  return kept.persistent();
}

export function putScans(records) {
  return kept.put("scans", records);
}

export function deleteScans(uuids) {
  return kept.delete("scans", uuids);
}

/** Every journal entry of one account, oldest first. */
export async function scansOf(user) {
  return (await kept.allWith("scans", user)).sort((a, b) => a.seq - b.seq);
}

/** Keep a door photo ({code, user, blob, at}) until it is uploaded; a newer photo of the code replaces it. */
export function putPhoto(record) {
  return kept.put("photos", [record]);
}

export function deletePhoto(code) {
  return kept.delete("photos", [code]);
}

/** The door photos one account still has to upload, oldest first. */
export async function photosOf(user) {
  return (await kept.allWith("photos", user)).sort((a, b) => a.at - b.at);
}

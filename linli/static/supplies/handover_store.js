// What the hand-over page keeps on the phone (linli/kept.js: IndexedDB, or memory when the browser
// cannot keep anything): a journal of scans per account. A scan stays "pending" until the server has
// answered it (stored, already delivered, or refused); answered scans are deleted, refused ones kept
// as "rejected" so the volunteer sees why. And the door photos taken without network, one per
// package code, until the server has them. And the codes the server has answered as delivered
// ({code, user, status, at}; status "undelivered" for a recorded 无法送达, none in records kept before
// there was one), for the copy of the page kept offline, which may predate them.

import { Kept } from "../linli/kept.js";

const kept = new Kept("linli-delivery", 3, {
  scans: { key: "uuid", index: "user" },
  photos: { key: "code", index: "user" },
  done: { key: "code", index: "user" },
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

/** Remember packages the server answered as delivered or undelivered ({code, user, status, at}). */
export function putDone(records) {
  return kept.put("done", records);
}

export async function doneOf(user) {
  return kept.allWith("done", user);
}

export function deleteDone(codes) {
  return kept.delete("done", codes);
}

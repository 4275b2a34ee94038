// The gate's verdict without the server: the same checks, in the same order, as decide() in
// linli/gate/services.py, on the cached bundle (docs/gate.md). The server stays authoritative: an
// offline verdict is what the guard was shown, and the sync recomputes the quota over every gate.

import { KIND, PassError, isPassText, numberStatus, parsePass } from "./passes.js";

const DAY_MS = 86400000;
const MIN_MS = 60000;

function minutesOf(hhmm) {
  const [h, m] = (hhmm || "00:00").split(":").map(Number);
  return h * 60 + m;
}

function isoDay(iso) {
  return Math.floor(Date.parse(`${iso}T00:00:00Z`) / DAY_MS);
}

function dayIso(day) {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

function pad(n) {
  return String(n).padStart(2, "0");
}

/** Local wall-clock parts of an instant, at the compound's UTC offset. */
export function localParts(ms, offsetMinutes) {
  const local = new Date(ms + offsetMinutes * MIN_MS);
  return {
    day: Math.floor((ms + offsetMinutes * MIN_MS) / DAY_MS),
    minutes: local.getUTCHours() * 60 + local.getUTCMinutes(),
    date: local.toISOString().slice(0, 10),
    mmdd: `${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())}`,
    hhmm: `${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}`,
  };
}

/** The first day (ISO) of the quota window that the instant falls in. */
export function periodStart(rules, ms, offsetMinutes) {
  const periodDays = Math.max(rules.period_days || 1, 1);
  const anchor = isoDay(rules.anchor);
  const days = localParts(ms, offsetMinutes).day - anchor;
  return dayIso(anchor + days - (((days % periodDays) + periodDays) % periodDays));
}

/** When the next window opens, at the first allowed minute of its first day (epoch ms). */
export function nextPeriod(rules, ms, offsetMinutes) {
  const periodDays = Math.max(rules.period_days || 1, 1);
  const start = isoDay(periodStart(rules, ms, offsetMinutes)) + periodDays;
  return start * DAY_MS + minutesOf(rules.out_from) * MIN_MS - offsetMinutes * MIN_MS;
}

export function withinHours(rules, ms, offsetMinutes) {
  const now = localParts(ms, offsetMinutes).minutes;
  const from = minutesOf(rules.out_from);
  const until = minutesOf(rules.out_until);
  if (from <= until) return from <= now && now < until;
  return now >= from || now < until;
}

export function isFever(temperature, feverCelsius) {
  if (temperature === null || temperature === undefined || temperature === "") return false;
  return Math.round(parseFloat(temperature) * 10) >= Math.round(parseFloat(feverCelsius || "37.3") * 10);
}

export function maxOutMs(rules) {
  return Math.floor(parseFloat(rules.max_hours_out || "3") * 60) * MIN_MS;
}

/** Fill {name} placeholders. */
export function fill(template, values) {
  return String(template).replace(/\{(\w+)\}/g, (all, name) => (name in values ? String(values[name]) : all));
}

function countWords(n, words) {
  return words && n >= 0 && n <= 10 ? words[n] : String(n);
}

/**
 * What a credential is, from the bundle alone: {refusal?, householdId?, members, validFrom, validUntil,
 * ticketPeriod?, exempt?}. ``verifier`` checks the signature with the cached keys.
 */
export async function present(bundle, verifier, credential) {
  let token = (credential || "").trim();
  if (!isPassText(token)) {
    const { status, digits } = numberStatus(token);
    token = status === "number" ? (bundle.numbers || {})[digits] : null;
    if (!token && status === "number" && (bundle.revoked_numbers || []).includes(digits)) {
      return { refusal: "revoked" };
    }
    if (!token) return { refusal: "forged" };
  }
  let pass;
  try {
    pass = parsePass(token);
  } catch (err) {
    if (err instanceof PassError) return { refusal: "forged" };
    throw err;
  }
  if (!(await verifier.verify(pass))) return { refusal: "forged" };
  const households = bundle.households || {};
  if (pass.kind === KIND.EXEMPT) {
    const exempt = (bundle.exempt || {})[String(pass.subject)];
    if (!exempt) return { refusal: "revoked" };
    return { exempt, validFrom: exempt.valid_from, validUntil: exempt.valid_until, members: [] };
  }
  const household = households[String(pass.subject)];
  if (!household) return { refusal: "wrong_compound" };
  if (pass.kind === KIND.TICKET) {
    return { householdId: pass.subject, ticketPeriod: pass.validFrom, members: [] };
  }
  // A lower issue number than the household's current pass: revoked by a reissue. A higher one is a
  // pass issued after the bundle was made (its signature is genuine): accepted until the next bundle.
  if (!household.issue_no || pass.issueNo < household.issue_no) {
    return { refusal: "revoked", householdId: pass.subject, members: pass.members };
  }
  return {
    householdId: pass.subject,
    members: pass.members,
    validFrom: pass.validFrom,
    validUntil: pass.validUntil,
  };
}

/**
 * The verdict: {verdict, reason, message, nextOutAt (ms|null), dueAt (ms|null)}.
 * ``scan``: {direction, ms, temperature, healthCode, personId}; ``state``: {used, hold, ticketUsed}.
 */
// The refusal of going out for each hold (any other: "hold"), by a household's pass or a resident's exempt pass.
const HOLD_REFUSALS = { sealed: "sealed", home_observation: "observation" };

export function decide(bundle, presented, scan, state, text) {
  const rules = bundle.rules || {};
  const offset = bundle.utc_offset_minutes || 0;
  const reasons = text.reasons;
  const strings = text.strings;
  const refuse = (reason, message) => ({
    verdict: "refused",
    reason,
    message: message || reasons[reason] || reason,
    nextOutAt: null,
    dueAt: null,
  });
  const allow = (message, dueAt = null) => ({ verdict: "allowed", reason: "ok", message, nextOutAt: null, dueAt });

  if (presented.refusal) return refuse(presented.refusal);
  const today = localParts(scan.ms, offset).date;
  if (presented.validFrom && presented.validUntil && !presented.ticketPeriod) {
    if (today < presented.validFrom) {
      return refuse("not_yet_valid", fill(strings.not_yet_valid, { date: presented.validFrom.slice(5, 10) }));
    }
    if (today > presented.validUntil) return refuse("expired");
  }
  if (isFever(scan.temperature, rules.fever_celsius)) {
    return refuse("fever", fill(strings.fever_offline, { t: scan.temperature }));
  }
  if (presented.exempt) {
    // The holder's own household sealed or under observation: the exempt pass does not take them out.
    const held = presented.exempt.hold;
    if (held && scan.direction === "out") {
      return refuse(HOLD_REFUSALS[held] || "hold");
    }
    return allow(fill(strings.exempt, { kind: presented.exempt.kind_label || presented.exempt.kind }));
  }
  if (scan.direction === "in") {
    if (state.hold) return allow(fill(strings.held_in, { reason: text.holds[state.hold] || state.hold }));
    return allow(strings.allowed_in);
  }
  if (state.hold) return refuse(HOLD_REFUSALS[state.hold] || "hold");
  if (scan.healthCode === "yellow" || scan.healthCode === "red") return refuse("health_code");
  if (!rules.closed) return allow(strings.low_risk);
  if (scan.personId && presented.members.length && !presented.members.includes(scan.personId)) {
    return refuse("not_member");
  }
  if (!withinHours(rules, scan.ms, offset)) {
    return refuse("hours", fill(strings.hours, { start: rules.out_from, end: rules.out_until }));
  }
  if (rules.ticket_mode) {
    if (!presented.ticketPeriod) return refuse("no_ticket");
    if (presented.ticketPeriod !== periodStart(rules, scan.ms, offset)) {
      return refuse("expired", strings.ticket_other_period);
    }
    if (state.ticketUsed) return refuse("ticket_used");
    return allow(strings.ticket_ok);
  }
  if (state.used >= rules.outings_per_period) {
    const next = nextPeriod(rules, scan.ms, offset);
    const at = localParts(next, offset);
    const result = refuse(
      "quota",
      fill(strings.quota, {
        days: countWords(rules.period_days, strings.count_words),
        used: countWords(state.used, strings.count_words),
        next: `${at.mmdd} ${at.hhmm}`,
      }),
    );
    result.nextOutAt = next;
    return result;
  }
  const due = scan.ms + maxOutMs(rules);
  return allow(fill(strings.due_back, { time: localParts(due, offset).hhmm }), due);
}

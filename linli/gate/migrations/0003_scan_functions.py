"""PostgreSQL only: the two functions of the online scan's fast path (docs/gate.md, "The scan path").

``gate_scan_facts`` checks the bearer token, reads the checkpoint, its rules, and — under the
household's row lock — the active pass, the household's address, outings in the window, hold and
gate state; ``gate_scan_store`` inserts the scan (nothing when its uuid is already stored) with the
state and alerts the decision implies. The decision itself is made in Python between the two calls
(``linli.gate.services.decide``, the same code as on SQLite). Inside a function PostgreSQL keeps the
plans of its statements for the session, so none is planned per scan.

The literal values are those of ``linli.gate.choices`` (Direction.OUT = 'out', Verdict.ALLOWED =
'allowed', HoldReason.SEALED = 'sealed', HoldReason.HOME_OBSERVATION = 'home_observation', AlertKind.FEVER
= 'fever', AlertKind.OVERDUE = 'overdue'); ``linli/gate/tests/test_scan_paths.py`` checks them.
On SQLite this migration does nothing.
"""

from typing import Any

from django.db import migrations

FACTS = r"""
CREATE OR REPLACE FUNCTION gate_scan_facts(
    p_key_hash text,
    p_touch_before timestamptz,
    p_now timestamptz,
    p_checkpoint_id bigint,
    p_household_id bigint,
    p_local_date date,
    OUT token_ok boolean,
    OUT user_id bigint,
    OUT user_is_superuser boolean,
    OUT user_role text,
    OUT user_street_id bigint,
    OUT user_community_id bigint,
    OUT user_grid_id bigint,
    OUT user_compound_id bigint,
    OUT user_building_id bigint,
    OUT user_unit_id bigint,
    OUT user_household_id bigint,
    OUT user_checkpoint_id bigint,
    OUT cp_found boolean,
    OUT cp_is_active boolean,
    OUT cp_street_id bigint,
    OUT cp_community_id bigint,
    OUT cp_grid_id bigint,
    OUT cp_compound_id bigint,
    OUT rules_found boolean,
    OUT rules_risk_level text,
    OUT rules_mode text,
    OUT rules_outings integer,
    OUT rules_period_days integer,
    OUT rules_max_hours numeric,
    OUT rules_out_from time,
    OUT rules_out_until time,
    OUT rules_anchor date,
    OUT period date,
    OUT household_found boolean,
    OUT room text,
    OUT building text,
    OUT unit text,
    OUT pass_id bigint,
    OUT pass_issue_no integer,
    OUT pass_compound_id bigint,
    OUT member_ids bigint[],
    OUT member_names text[],
    OUT used integer,
    OUT hold_rank integer,
    OUT last_time timestamptz,
    OUT last_uuid uuid,
    OUT out_since timestamptz,
    OUT due_at timestamptz
) LANGUAGE plpgsql AS $fn$
DECLARE
    v_token_id bigint;
    v_last_used timestamptz;
    v_days integer;
    v_step integer;
BEGIN
    -- The bearer token (none when the caller is already authenticated: p_key_hash NULL) with its
    -- account (unrevoked token, active account), the checkpoint and its compound's rules: one read.
    SELECT t.id, t.last_used_at, u.id, u.is_superuser, u.role, u.street_id, u.community_id, u.grid_id,
           u.compound_id, u.building_id, u.unit_id, u.household_id, u.checkpoint_id,
           c.id IS NOT NULL, c.is_active, c.street_id, c.community_id, c.grid_id, c.compound_id,
           r.id IS NOT NULL, r.risk_level, r.mode, r.outings_per_period, r.period_days, r.max_hours_out,
           r.out_from, r.out_until, r.period_anchor
      INTO v_token_id, v_last_used, user_id, user_is_superuser, user_role, user_street_id,
           user_community_id, user_grid_id, user_compound_id, user_building_id, user_unit_id,
           user_household_id, user_checkpoint_id,
           cp_found, cp_is_active, cp_street_id, cp_community_id, cp_grid_id, cp_compound_id,
           rules_found, rules_risk_level, rules_mode, rules_outings, rules_period_days, rules_max_hours,
           rules_out_from, rules_out_until, rules_anchor
      FROM (SELECT 1) AS one
      LEFT JOIN accounts_apitoken t ON t.key_hash = p_key_hash AND t.revoked_at IS NULL
      LEFT JOIN accounts_user u ON u.id = t.user_id AND u.is_active
      LEFT JOIN gate_checkpoint c ON c.id = p_checkpoint_id
      LEFT JOIN gate_gaterules r ON r.compound_id = c.compound_id;
    token_ok := p_key_hash IS NULL OR user_id IS NOT NULL;
    IF NOT token_ok THEN
        RETURN;
    END IF;
    IF p_key_hash IS NOT NULL AND (v_last_used IS NULL OR v_last_used <= p_touch_before) THEN
        UPDATE accounts_apitoken SET last_used_at = p_now WHERE id = v_token_id;
    END IF;
    IF NOT cp_found OR NOT cp_is_active OR NOT rules_found THEN
        RETURN;
    END IF;
    -- The window's first day, as linli.gate.quota.period_start (a floored modulo).
    v_step := greatest(rules_period_days, 1);
    v_days := p_local_date - rules_anchor;
    period := rules_anchor + (v_days - (((v_days % v_step) + v_step) % v_step));

    -- One decision per household at a time (as lock_households). The lock is its own statement, so
    -- that the next one reads the pass, outings, hold and state after any other scan has committed.
    SELECT h.room, b.name, un.name
      INTO room, building, unit
      FROM registry_household h
      JOIN registry_building b ON b.id = h.building_id
      JOIN registry_unit un ON un.id = h.unit_id
     WHERE h.id = p_household_id
       FOR NO KEY UPDATE OF h;
    household_found := FOUND;
    IF NOT household_found THEN
        RETURN;
    END IF;

    SELECT p.id, p.issue_no, p.compound_id, mm.ids, mm.names,
           (SELECT count(*) FROM gate_gatescan s
             WHERE s.household_id = p_household_id AND s.period_start = period AND s.direction = 'out'
               AND s.verdict = 'allowed'),
           (SELECT min(CASE k.reason WHEN 'sealed' THEN 0 WHEN 'home_observation' THEN 1 ELSE 2 END)
              FROM gate_householdhold k
             WHERE k.household_id = p_household_id AND k.released_at IS NULL),
           g.last_time, g.last_uuid, g.out_since, g.due_at
      INTO pass_id, pass_issue_no, pass_compound_id, member_ids, member_names, used, hold_rank,
           last_time, last_uuid, out_since, due_at
      FROM (SELECT 1) AS one
      LEFT JOIN gate_householdpass p ON p.household_id = p_household_id AND p.is_active
      LEFT JOIN LATERAL (
            SELECT array_agg(m.person_id ORDER BY m.person_id) AS ids,
                   array_agg(pe.name::text ORDER BY m.person_id) AS names
              FROM gate_householdpass_members m
              JOIN registry_person pe ON pe.id = m.person_id
             WHERE m.householdpass_id = p.id
           ) AS mm ON true
      LEFT JOIN gate_householdgatestate g ON g.household_id = p_household_id;
END
$fn$;
"""

STORE = r"""
CREATE OR REPLACE FUNCTION gate_scan_store(
    p_uuid uuid,
    p_checkpoint_id bigint,
    p_street_id bigint,
    p_community_id bigint,
    p_grid_id bigint,
    p_compound_id bigint,
    p_household_id bigint,
    p_pass_id bigint,
    p_person_id bigint,
    p_direction text,
    p_device_time timestamptz,
    p_received_at timestamptz,
    p_guard_id bigint,
    p_temperature numeric,
    p_mask boolean,
    p_health_code text,
    p_verdict text,
    p_reason text,
    p_message text,
    p_period date,
    p_state integer,
    p_due_at timestamptz,
    p_overdue text,
    p_fever text
) RETURNS bigint LANGUAGE plpgsql AS $fn$
DECLARE
    v_id bigint;
    v_out boolean := p_direction = 'out';
    v_name text;
BEGIN
    -- A uuid already stored: nothing is written, the caller answers with the first scan.
    INSERT INTO gate_gatescan (
        uuid, checkpoint_id, street_id, community_id, grid_id, compound_id, household_id, household_pass_id,
        ticket_id, exempt_pass_id, person_id, direction, device_time, received_at, guard_id, temperature, mask,
        health_code, verdict, reason, message, offline, period_start
    ) VALUES (
        p_uuid, p_checkpoint_id, p_street_id, p_community_id, p_grid_id, p_compound_id, p_household_id, p_pass_id,
        NULL, NULL, p_person_id, p_direction, p_device_time, p_received_at, p_guard_id, p_temperature, p_mask,
        p_health_code, p_verdict, p_reason, p_message, false, p_period
    )
    ON CONFLICT (uuid) DO NOTHING
    RETURNING id INTO v_id;
    IF v_id IS NULL THEN
        RETURN NULL;
    END IF;

    -- The household's state moves to this scan (p_state 1: first state, 2: newer than the stored one).
    IF p_state = 1 THEN
        INSERT INTO gate_householdgatestate (
            household_id, street_id, community_id, grid_id, compound_id, last_time, last_uuid, out_since,
            due_at, out_scan_id
        ) VALUES (
            p_household_id, p_street_id, p_community_id, p_grid_id, p_compound_id, p_device_time, p_uuid,
            CASE WHEN v_out THEN p_device_time END, CASE WHEN v_out THEN p_due_at END,
            CASE WHEN v_out THEN v_id END
        );
    ELSIF p_state = 2 THEN
        UPDATE gate_householdgatestate
           SET last_time = p_device_time, last_uuid = p_uuid,
               out_since = CASE WHEN v_out THEN p_device_time END,
               due_at = CASE WHEN v_out THEN p_due_at END,
               out_scan_id = CASE WHEN v_out THEN v_id END
         WHERE household_id = p_household_id;
    END IF;

    IF p_overdue IS NOT NULL THEN
        INSERT INTO gate_gatealert (
            kind, checkpoint_id, household_id, person_name, scan_id, detail, created_at, street_id,
            community_id, grid_id, compound_id
        ) VALUES (
            'overdue', p_checkpoint_id, p_household_id, '', v_id, p_overdue, p_received_at, p_street_id,
            p_community_id, p_grid_id, p_compound_id
        )
        ON CONFLICT (kind, scan_id) DO NOTHING;
    END IF;

    IF p_fever IS NOT NULL THEN
        IF p_person_id IS NOT NULL THEN
            SELECT pe.name INTO v_name FROM registry_person pe WHERE pe.id = p_person_id;
        END IF;
        INSERT INTO gate_gatealert (
            kind, checkpoint_id, household_id, person_name, scan_id, detail, created_at, street_id,
            community_id, grid_id, compound_id
        ) VALUES (
            'fever', p_checkpoint_id, p_household_id, coalesce(v_name, ''), v_id, p_fever, p_received_at,
            p_street_id, p_community_id, p_grid_id, p_compound_id
        )
        ON CONFLICT (kind, scan_id) DO NOTHING;
    END IF;
    RETURN v_id;
END
$fn$;
"""

DROP = """
DROP FUNCTION IF EXISTS gate_scan_store(uuid, bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint, text,
    timestamptz, timestamptz, bigint, numeric, boolean, text, text, text, text, date, integer, timestamptz, text, text);
DROP FUNCTION IF EXISTS gate_scan_facts(text, timestamptz, timestamptz, bigint, bigint, date);
"""


def create(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:  # no parameters: "%" is SQL's modulo here
            cursor.execute(FACTS)
            cursor.execute(STORE)


def drop(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("gate", "0002_client_uuid")]

    operations = [migrations.RunPython(create, drop, elidable=False)]

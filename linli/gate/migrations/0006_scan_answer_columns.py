"""PostgreSQL only: ``gate_scan_online`` answers only what the scan's answer needs (docs/gate.md, "The scan path").

Migration 0004's function returned the caller's account (eleven columns) and the checkpoint's place
with every call, so that Python could run the API's ``admit_scan`` on them. That check already runs
in the function for the accepting case (status 0 and 1 only for an admitted caller); for every other
status the API now answers through the Python path (``checkpoint_for``, the token's own lookup), which
gives the same refusals. So the account comes back as its id only (the scan's guard): ten columns
fewer for psycopg to describe and load on every scan.

The household's lock reads the building's and unit's names by key (scalar subqueries) instead of
joining the two tables, which the planner did by hashing both (a sequential scan of each) for one
row; a missing building or unit still counts as a missing household. Inputs, statuses, decision and
writes are those of migration 0004 (see its docstring). On SQLite this does nothing.
"""

import importlib
from typing import Any

from django.db import migrations

ONLINE = r"""
CREATE OR REPLACE FUNCTION gate_scan_online(
    p_key_hash text,            -- the bearer token's hash; NULL: the caller is p_user
    p_user bigint[],            -- without a token: id, street, community, grid, compound, building, unit,
    p_user_role text,           --   household, checkpoint ids; role; superuser
    p_user_superuser boolean,
    p_admit boolean,            -- check the caller's admission (the API) or not (a service call)
    p_roles text,               -- roles that may record scans, comma-separated
    p_touch_before timestamptz, -- last_used_at older than this is written again
    p_now timestamptz,
    p_checkpoint_id bigint,
    p_household_id bigint,      -- the verified pass: household, issue, validity, designated members
    p_issue_no integer,
    p_valid_from date,
    p_valid_until date,
    p_members bigint[],
    p_uuid uuid,                -- the scan as sent
    p_direction text,
    p_device_time timestamptz,
    p_local_date date,          -- device time in the local zone, date and time of day
    p_local_time time,
    p_temperature numeric,
    p_mask boolean,
    p_health_code text,
    p_person_id bigint,
    p_fever_message text,       -- NULL: no fever
    p_fever_detail text,
    p_texts text,               -- linli.gate.services._scan_texts(), in the request's language, separated
    p_words text,               --   by E'\x02'; the counts 0..10 in words likewise, or NULL for digits
    p_zone text,
    OUT status integer,
    OUT user_id bigint,
    OUT cp_street_id bigint,
    OUT cp_community_id bigint,
    OUT cp_grid_id bigint,
    OUT cp_compound_id bigint,
    OUT scan_id bigint,
    OUT household_id bigint,
    OUT pass_id bigint,
    OUT verdict text,
    OUT reason text,
    OUT message text,
    OUT period date,
    OUT next_out_at timestamptz,
    OUT address text,
    OUT member_ids bigint[],
    OUT member_names text[]
) LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
DECLARE
    user_is_superuser boolean;
    user_role text;
    user_street_id bigint;
    user_community_id bigint;
    user_grid_id bigint;
    user_compound_id bigint;
    user_building_id bigint;
    user_unit_id bigint;
    user_household_id bigint;
    user_checkpoint_id bigint;
    v_token_id bigint;
    v_last_used timestamptz;
    v_cp_found boolean;
    v_cp_active boolean;
    v_rules_found boolean;
    v_risk text;
    v_mode text;
    v_outings integer;
    v_period_days integer;
    v_max_hours numeric;
    v_out_from time;
    v_out_until time;
    v_anchor date;
    v_days integer;
    v_step integer;
    v_admitted boolean;
    v_found boolean;
    v_pass_issue integer;
    v_pass_compound bigint;
    v_used integer;
    v_hold integer;
    v_last_time timestamptz;
    v_last_uuid uuid;
    v_out_since timestamptz;
    v_due_at timestamptz;
    v_valid boolean;
    v_out boolean := p_direction = 'out';
    v_due timestamptz;
    v_minutes integer;
    v_state integer := 0;
    v_overdue text;
    v_name text;
    v_texts text[] := string_to_array(p_texts, E'\x02');
    v_words text[] := string_to_array(p_words, E'\x02');
BEGIN
    -- The bearer token with its account (unrevoked token, active account), the checkpoint and its
    -- compound's rules: one read.
    SELECT t.id, t.last_used_at, u.id, u.is_superuser, u.role, u.street_id, u.community_id, u.grid_id,
           u.compound_id, u.building_id, u.unit_id, u.household_id, u.checkpoint_id,
           c.id IS NOT NULL, c.is_active, c.street_id, c.community_id, c.grid_id, c.compound_id,
           r.id IS NOT NULL, r.risk_level, r.mode, r.outings_per_period, r.period_days, r.max_hours_out,
           r.out_from, r.out_until, r.period_anchor
      INTO v_token_id, v_last_used, user_id, user_is_superuser, user_role, user_street_id,
           user_community_id, user_grid_id, user_compound_id, user_building_id, user_unit_id,
           user_household_id, user_checkpoint_id,
           v_cp_found, v_cp_active, cp_street_id, cp_community_id, cp_grid_id, cp_compound_id,
           v_rules_found, v_risk, v_mode, v_outings, v_period_days, v_max_hours, v_out_from, v_out_until, v_anchor
      FROM (SELECT 1) AS one
      LEFT JOIN accounts_apitoken t ON t.key_hash = p_key_hash AND t.revoked_at IS NULL
      LEFT JOIN accounts_user u ON u.id = t.user_id AND u.is_active
      LEFT JOIN gate_checkpoint c ON c.id = p_checkpoint_id
      LEFT JOIN gate_gaterules r ON r.compound_id = c.compound_id;
    IF p_key_hash IS NULL THEN
        user_id := p_user[1]; user_street_id := p_user[2]; user_community_id := p_user[3];
        user_grid_id := p_user[4]; user_compound_id := p_user[5]; user_building_id := p_user[6];
        user_unit_id := p_user[7]; user_household_id := p_user[8]; user_checkpoint_id := p_user[9];
        user_role := p_user_role; user_is_superuser := p_user_superuser;
    ELSIF user_id IS NULL THEN
        status := 2;
        RETURN;
    ELSIF v_last_used IS NULL OR v_last_used <= p_touch_before THEN
        UPDATE accounts_apitoken SET last_used_at = p_now WHERE id = v_token_id;
    END IF;
    IF NOT v_cp_found OR NOT v_cp_active THEN
        status := 3;
        RETURN;
    END IF;
    IF p_admit THEN
        -- admit_scan's accepting case (linli.gate.api_checkpoint): the deepest level of the account's
        -- scope is the checkpoint's street, community, grid or compound.
        v_admitted := user_id IS NOT NULL AND (coalesce(user_is_superuser, false) OR (
            user_role = ANY(string_to_array(p_roles, ','))
            AND (user_checkpoint_id IS NULL OR user_checkpoint_id = p_checkpoint_id)
            AND user_building_id IS NULL AND user_unit_id IS NULL AND user_household_id IS NULL
            AND CASE
                WHEN user_compound_id IS NOT NULL THEN user_compound_id = cp_compound_id
                WHEN user_grid_id IS NOT NULL THEN user_grid_id = cp_grid_id
                WHEN user_community_id IS NOT NULL THEN user_community_id = cp_community_id
                WHEN user_street_id IS NOT NULL THEN user_street_id = cp_street_id
                ELSE false
            END));
        IF NOT v_admitted THEN
            status := 5;
            RETURN;
        END IF;
    END IF;
    IF NOT v_rules_found THEN
        status := 4;
        RETURN;
    END IF;
    -- The window's first day, as linli.gate.quota.period_start (a floored modulo).
    v_step := greatest(v_period_days, 1);
    v_days := p_local_date - v_anchor;
    period := v_anchor + (v_days - (((v_days % v_step) + v_step) % v_step));

    -- One decision per household at a time (as lock_households). The lock is its own statement, so
    -- that the next one reads the pass, outings, hold and state after any other scan has committed.
    -- The building's and unit's names by their keys: as joins, the planner hashes both tables
    -- (sequential scans) for this one row. Names are NOT NULL: a NULL address is a missing row.
    SELECT (SELECT b.name FROM registry_building b WHERE b.id = h.building_id)
           || (SELECT un.name FROM registry_unit un WHERE un.id = h.unit_id) || h.room
      INTO address
      FROM registry_household h
     WHERE h.id = p_household_id
       FOR NO KEY UPDATE OF h;
    v_found := FOUND AND address IS NOT NULL;

    IF v_found THEN
        SELECT p.id, p.issue_no, p.compound_id, mm.ids, mm.names,
               (SELECT count(*) FROM gate_gatescan s
                 WHERE s.household_id = p_household_id AND s.period_start = period AND s.direction = 'out'
                   AND s.verdict = 'allowed'),
               (SELECT min(CASE k.reason WHEN 'sealed' THEN 0 WHEN 'home_observation' THEN 1 ELSE 2 END)
                  FROM gate_householdhold k
                 WHERE k.household_id = p_household_id AND k.released_at IS NULL),
               g.last_time, g.last_uuid, g.out_since, g.due_at
          INTO pass_id, v_pass_issue, v_pass_compound, member_ids, member_names, v_used, v_hold,
               v_last_time, v_last_uuid, v_out_since, v_due_at
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
    END IF;

    -- The decision: linli.gate.services.decide, in the same order.
    verdict := 'refused';
    v_valid := false;
    IF NOT v_found OR pass_id IS NULL OR p_issue_no < v_pass_issue THEN
        reason := 'revoked'; message := v_texts[1]; pass_id := NULL;
    ELSIF p_issue_no <> v_pass_issue THEN
        reason := 'forged'; message := v_texts[2]; pass_id := NULL;
    ELSE
        v_valid := true;
        IF v_pass_compound IS DISTINCT FROM cp_compound_id THEN
            reason := 'wrong_compound'; message := v_texts[3];
        ELSIF NOT (p_valid_from <= p_local_date AND p_local_date <= p_valid_until) THEN
            reason := 'expired'; message := v_texts[4];
        ELSIF p_fever_message IS NOT NULL THEN
            reason := 'fever'; message := p_fever_message;
        ELSIF NOT v_out THEN
            verdict := 'allowed'; reason := 'ok'; message := v_texts[11 + coalesce(v_hold + 1, 0)];
        ELSIF v_hold IS NOT NULL THEN
            reason := (ARRAY['sealed', 'observation', 'hold'])[v_hold + 1]; message := v_texts[5 + v_hold];
        ELSIF p_health_code IN ('yellow', 'red') THEN
            reason := 'health_code'; message := v_texts[8];
        ELSIF v_risk = 'low' THEN
            verdict := 'allowed'; reason := 'ok'; message := v_texts[15];
        ELSIF p_person_id IS NOT NULL AND p_person_id <> 0 AND cardinality(p_members) > 0
              AND NOT p_person_id = ANY(p_members) THEN
            reason := 'not_member'; message := v_texts[9];
        ELSIF NOT ((v_out_from <= v_out_until AND v_out_from <= p_local_time AND p_local_time < v_out_until)
                   OR (v_out_from > v_out_until AND (p_local_time >= v_out_from OR p_local_time < v_out_until))) THEN
            reason := 'hours';
            message := replace(replace(v_texts[16], E'\x01start\x01', to_char(v_out_from, 'HH24:MI')),
                               E'\x01end\x01', to_char(v_out_until, 'HH24:MI'));
        ELSIF v_mode = 'ticket' THEN
            reason := 'no_ticket'; message := v_texts[10];
        ELSIF v_used >= v_outings THEN
            reason := 'quota';
            next_out_at := ((period + v_step) + v_out_from) AT TIME ZONE p_zone;
            message := replace(replace(replace(v_texts[17],
                E'\x01days\x01', CASE WHEN v_words IS NOT NULL AND v_period_days BETWEEN 0 AND 10
                                      THEN v_words[v_period_days + 1] ELSE v_period_days::text END),
                E'\x01used\x01', CASE WHEN v_words IS NOT NULL AND v_used BETWEEN 0 AND 10
                                      THEN v_words[v_used + 1] ELSE v_used::text END),
                E'\x01next\x01', to_char(next_out_at AT TIME ZONE p_zone, 'MM-DD HH24:MI'));
        ELSE
            verdict := 'allowed'; reason := 'ok';
            message := replace(v_texts[18], E'\x01due\x01',
                to_char((p_device_time + make_interval(mins => trunc(v_max_hours * 60)::integer)) AT TIME ZONE p_zone,
                        'HH24:MI'));
        END IF;
    END IF;
    message := left(message, 200);
    household_id := CASE WHEN v_valid AND v_pass_compound = cp_compound_id THEN p_household_id END;
    IF household_id IS NULL THEN
        period := NULL;
    END IF;

    -- A uuid already stored: nothing is written, the caller answers with the first scan.
    INSERT INTO gate_gatescan (
        uuid, checkpoint_id, street_id, community_id, grid_id, compound_id, household_id, household_pass_id,
        ticket_id, exempt_pass_id, person_id, direction, device_time, received_at, guard_id, temperature, mask,
        health_code, verdict, reason, message, offline, period_start
    ) VALUES (
        p_uuid, p_checkpoint_id, cp_street_id, cp_community_id, cp_grid_id, cp_compound_id, household_id, pass_id,
        NULL, NULL, p_person_id, p_direction, p_device_time, p_now, user_id, p_temperature, p_mask,
        p_health_code, verdict, reason, message, false, period
    )
    ON CONFLICT (uuid) DO NOTHING
    RETURNING id INTO scan_id;
    IF scan_id IS NULL THEN
        status := 1;
        RETURN;
    END IF;
    status := 0;

    -- The household's state moves to this scan if it is the latest by device time (as _advance_state);
    -- a return after the due time is an overdue alert.
    IF household_id IS NOT NULL AND verdict = 'allowed' THEN
        v_due := p_device_time + make_interval(mins => trunc(v_max_hours * 60)::integer);
        IF v_last_time IS NULL THEN
            INSERT INTO gate_householdgatestate (
                household_id, street_id, community_id, grid_id, compound_id, last_time, last_uuid, out_since,
                due_at, out_scan_id
            ) VALUES (
                p_household_id, cp_street_id, cp_community_id, cp_grid_id, cp_compound_id, p_device_time, p_uuid,
                CASE WHEN v_out THEN p_device_time END, CASE WHEN v_out THEN v_due END,
                CASE WHEN v_out THEN scan_id END
            );
        ELSIF (v_last_time, v_last_uuid) < (p_device_time, p_uuid) THEN
            UPDATE gate_householdgatestate
               SET last_time = p_device_time, last_uuid = p_uuid,
                   out_since = CASE WHEN v_out THEN p_device_time END,
                   due_at = CASE WHEN v_out THEN v_due END,
                   out_scan_id = CASE WHEN v_out THEN scan_id END
             WHERE gate_householdgatestate.household_id = p_household_id;
            IF NOT v_out AND v_out_since IS NOT NULL AND v_due_at IS NOT NULL AND p_device_time > v_due_at THEN
                v_minutes := floor(extract(epoch FROM p_device_time - v_out_since) / 60)::integer;
                v_overdue := replace(replace(v_texts[19], E'\x01h\x01', (v_minutes / 60)::text),
                                     E'\x01m\x01', (v_minutes % 60)::text);
                INSERT INTO gate_gatealert (
                    kind, checkpoint_id, household_id, person_name, scan_id, detail, created_at, street_id,
                    community_id, grid_id, compound_id
                ) VALUES (
                    'overdue', p_checkpoint_id, p_household_id, '', scan_id, v_overdue, p_now, cp_street_id,
                    cp_community_id, cp_grid_id, cp_compound_id
                )
                ON CONFLICT (kind, scan_id) DO NOTHING;
            END IF;
        END IF;
    END IF;

    IF reason = 'fever' THEN
        IF p_person_id IS NOT NULL THEN
            SELECT pe.name INTO v_name FROM registry_person pe WHERE pe.id = p_person_id;
        END IF;
        INSERT INTO gate_gatealert (
            kind, checkpoint_id, household_id, person_name, scan_id, detail, created_at, street_id,
            community_id, grid_id, compound_id
        ) VALUES (
            'fever', p_checkpoint_id, household_id, coalesce(v_name, ''), scan_id, p_fever_detail, p_now,
            cp_street_id, cp_community_id, cp_grid_id, cp_compound_id
        )
        ON CONFLICT (kind, scan_id) DO NOTHING;
    END IF;
END
$fn$;
"""


def _previous() -> Any:
    return importlib.import_module("linli.gate.migrations.0004_scan_one_call")


def create(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:  # no parameters: "%" is SQL's modulo here
            # The result's columns change, which CREATE OR REPLACE cannot do: drop, then create.
            cursor.execute(_previous().DROP)
            cursor.execute(ONLINE)


def drop(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        previous = _previous()
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(previous.DROP)
            cursor.execute(previous.ONLINE)


class Migration(migrations.Migration):
    dependencies = [("gate", "0005_scan_compound_covered_index")]

    operations = [migrations.RunPython(create, drop, elidable=False)]

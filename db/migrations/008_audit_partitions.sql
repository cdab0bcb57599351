-- An audit trail that can grow for years.  audit_events becomes a table
-- partitioned by month of its time (UTC), so that retention
-- (AUDIT_RETENTION_DAYS, medrec --purge) drops whole months instead of
-- deleting rows one by one, and it keeps only the indexes its queries
-- need: a user's events by id and by time (GET /api/audit) and a
-- patient's events (its export's disclosures).  The identity primary key
-- goes: a unique index on a partitioned table must hold the partition
-- key, and nothing looks an event up by id alone; ids still come from one
-- sequence.  The rows already there are copied, ids and all.

ALTER TABLE audit_events RENAME TO audit_events_unpartitioned;
ALTER TABLE audit_events_unpartitioned ALTER COLUMN id DROP IDENTITY;
DROP INDEX audit_events_user_id_id, audit_events_user_id_at,
    audit_events_user_id_action, audit_events_user_id_resource,
    audit_events_patient;

CREATE SEQUENCE audit_events_id_seq AS bigint;
SELECT setval('audit_events_id_seq',
    coalesce((SELECT max(id) FROM audit_events_unpartitioned), 0) + 1, false);

CREATE TABLE audit_events (
    id              bigint NOT NULL DEFAULT nextval('audit_events_id_seq'),
    at              timestamptz NOT NULL DEFAULT now(),
    user_id         bigint DEFAULT app_user_id(),
    email           text CHECK (char_length(email) <= 254),
    action          text NOT NULL CHECK (action IN ('register', 'login',
                        'login_failed', 'logout', 'password_change', 'read',
                        'list', 'create', 'update', 'delete', 'restore',
                        'history', 'export', 'purge')),
    resource_type   text NOT NULL CHECK (resource_type IN ('user', 'patient',
                        'doctor', 'mapping', 'service')),
    resource_id     bigint,
    outcome         text NOT NULL CHECK (outcome IN ('found', 'unchanged',
                        'absent', 'gone', 'created', 'updated', 'deleted',
                        'restored', 'purged', 'granted', 'denied',
                        'throttled', 'revoked', 'changed')),
    request_id      text DEFAULT nullif(current_setting('app.request_id',
                        true), '') CHECK (char_length(request_id) <= 64),
    client_address  text DEFAULT nullif(current_setting('app.client_address',
                        true), '') CHECK (char_length(client_address) <= 64),
    detail          text
) PARTITION BY RANGE (at);
ALTER SEQUENCE audit_events_id_seq OWNED BY audit_events.id;

-- A user's page by id, and by time (ties by id: an incremental sort of
-- the few events of one instant).  Failed logins and the purge have no
-- user.  A patient's events, deduplicated: a few bytes an event; its
-- export sorts them by id.
CREATE INDEX audit_events_user_id_id ON audit_events (user_id, id)
    WHERE user_id IS NOT NULL;
CREATE INDEX audit_events_user_id_at ON audit_events (user_id, at)
    WHERE user_id IS NOT NULL;
CREATE INDEX audit_events_patient ON audit_events (resource_id)
    WHERE resource_type = 'patient';

-- Append-only for every role: no role may change or remove a row.  Row
-- triggers on a partitioned table are cloned onto each partition; the
-- TRUNCATE trigger is not, and app_audit_partition() adds one to each.
-- Only app_purge() drops a month, once all of it is past retention.
CREATE TRIGGER audit_events_no_update BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();

ALTER TABLE audit_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_events FORCE ROW LEVEL SECURITY;
CREATE POLICY audit_events_read_own ON audit_events FOR SELECT
    USING (user_id = app_user_id());
CREATE POLICY audit_events_append ON audit_events FOR INSERT
    WITH CHECK (true);
CREATE POLICY audit_events_disclosures ON audit_events FOR SELECT
    TO CURRENT_USER USING (true);
GRANT SELECT, INSERT ON audit_events TO medrec_app;
GRANT USAGE ON SEQUENCE audit_events_id_seq TO medrec_app;

-- The partition of the month that holds day, made unless it exists:
-- audit_events_YYYY_MM, from its first instant to the next month's (UTC).
CREATE FUNCTION app_audit_partition(day date) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
    first date := date_trunc('month', day)::date;
    name text := 'audit_events_' || to_char(first, 'YYYY_MM');
BEGIN
    IF to_regclass(name) IS NOT NULL THEN
        RETURN false;
    END IF;
    EXECUTE format('CREATE TABLE %I PARTITION OF audit_events '
                   'FOR VALUES FROM (%L) TO (%L)', name,
                   first::timestamp AT TIME ZONE 'UTC',
                   (first + interval '1 month') AT TIME ZONE 'UTC');
    EXECUTE format('CREATE TRIGGER audit_events_no_truncate '
                   'BEFORE TRUNCATE ON %I FOR EACH STATEMENT '
                   'EXECUTE FUNCTION audit_events_append_only()', name);
    RETURN true;
END
$$;

-- This month's partition and the next months_ahead ones: made at every
-- start of the service and by every purge (daily), so that an insert
-- always finds its month.  Returns how many it made.  Making a partition
-- locks the whole trail, which every audited request writes to: one that
-- waits behind a long read (an export) gives up after two seconds, with
-- a warning, rather than queue every request behind it; it is made next
-- time, still ahead of its month.  A lock keeps a start and a purge from
-- making the same month at once.
CREATE FUNCTION app_audit_partitions(months_ahead integer DEFAULT 3)
    RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public
    SET lock_timeout = '2s' AS $$
DECLARE
    made integer := 0;
    day date;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('audit_events partitions'));
    FOR m IN 0 .. months_ahead LOOP
        day := ((now() AT TIME ZONE 'UTC')::date
                + make_interval(months => m))::date;
        BEGIN
            IF app_audit_partition(day) THEN
                made := made + 1;
            END IF;
        EXCEPTION WHEN lock_not_available THEN
            RAISE WARNING 'the audit trail is busy: its partition for % '
                'is made next time', to_char(day, 'YYYY-MM');
        END;
    END LOOP;
    RETURN made;
END
$$;
REVOKE ALL ON FUNCTION app_audit_partition(date),
    app_audit_partitions(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app_audit_partitions(integer) TO medrec_app;

-- The months the trail already covers, then its rows.
SELECT app_audit_partition(m::date)
  FROM generate_series(
           date_trunc('month', coalesce(
               (SELECT min(at) FROM audit_events_unpartitioned), now())
               AT TIME ZONE 'UTC'),
           now() AT TIME ZONE 'UTC', interval '1 month') m;
SELECT app_audit_partitions();
INSERT INTO audit_events SELECT * FROM audit_events_unpartitioned ORDER BY id;
-- Its row type was the old table's.
DROP FUNCTION app_disclosures(bigint);
DROP TABLE audit_events_unpartitioned;

CREATE FUNCTION app_disclosures(patient bigint) RETURNS SETOF audit_events
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
    SELECT e.* FROM audit_events e
     WHERE e.resource_type = 'patient' AND e.resource_id = patient
       AND EXISTS (SELECT 1 FROM patients p
                    WHERE p.id = patient AND p.user_id = app_user_id())
     ORDER BY e.id
$$;
REVOKE ALL ON FUNCTION app_disclosures(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app_disclosures(bigint) TO medrec_app;

-- The purge also drops the months of the trail that are wholly older than
-- audit_days (AUDIT_RETENTION_DAYS): an event is kept at least that long,
-- and at most a month longer.  It makes the next months' partitions too.
DROP FUNCTION app_purge(integer);
CREATE FUNCTION app_purge(restore_days integer, audit_days integer,
                          OUT patients bigint, OUT doctors bigint,
                          OUT audit_months text[])
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
    cutoff timestamptz := now() - make_interval(days => restore_days);
    audit_cutoff timestamptz := now() - make_interval(days => audit_days);
    p bigint[];
    d bigint[];
    part text;
    waited text;
BEGIN
    WITH gone AS (DELETE FROM patients WHERE deleted_at < cutoff
                  RETURNING id)
    SELECT coalesce(array_agg(id ORDER BY id), '{}') INTO p FROM gone;
    -- Their foreign key would refuse the doctors' removal.
    DELETE FROM patient_doctors
     WHERE doctor_id IN (SELECT id FROM doctors WHERE deleted_at < cutoff);
    WITH gone AS (DELETE FROM doctors WHERE deleted_at < cutoff
                  RETURNING id)
    SELECT coalesce(array_agg(id ORDER BY id), '{}') INTO d FROM gone;
    DELETE FROM idempotency_keys
     WHERE location IN (SELECT '/api/patients/' || x FROM unnest(p) x
                        UNION ALL
                        SELECT '/api/doctors/' || x FROM unnest(d) x);
    patients := cardinality(p);
    doctors := cardinality(d);

    audit_months := '{}';
    -- A drop locks the whole trail, as making a month does (above).
    waited := current_setting('lock_timeout');
    PERFORM set_config('lock_timeout', '2s', true);
    FOR part IN
        SELECT c.relname FROM pg_inherits i
          JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = 'audit_events'::regclass
           AND c.relname ~ '^audit_events_[0-9]{4}_[0-9]{2}$'
           AND (to_date(right(c.relname, 7), 'YYYY_MM')
                + interval '1 month') AT TIME ZONE 'UTC' <= audit_cutoff
         ORDER BY c.relname
    LOOP
        BEGIN
            EXECUTE format('DROP TABLE %I', part);
            audit_months := audit_months || replace(right(part, 7), '_', '-');
        EXCEPTION WHEN lock_not_available THEN
            RAISE WARNING 'the audit trail is busy: % is dropped next time',
                part;
        END;
    END LOOP;
    PERFORM set_config('lock_timeout', waited, true);
    PERFORM app_audit_partitions();

    INSERT INTO audit_events (user_id, action, resource_type, outcome, detail)
    VALUES (NULL, 'purge', 'service', 'purged',
            json_build_object('restoreDays', restore_days,
                              'patients', p, 'doctors', d,
                              'auditRetentionDays', audit_days,
                              'auditMonths', audit_months)::text);
END
$$;
REVOKE ALL ON FUNCTION app_purge(integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app_purge(integer, integer) TO medrec_app;

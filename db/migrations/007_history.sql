-- A record over time.  Every write to a patient or a doctor keeps the
-- version it made in patient_versions or doctor_versions, by trigger in
-- the same transaction, so no code path can skip it; a delete only marks
-- the record (deleted_at), which lists, reads and writes then treat as
-- gone until it is restored or purged (medrec --purge, RESTORE_DAYS).

ALTER TABLE patients ADD COLUMN deleted_at timestamptz;
ALTER TABLE doctors ADD COLUMN deleted_at timestamptz;

-- Lists page live records: their indexes hold live rows only, so that a
-- page costs the same whatever share of the table is deleted.  The purge
-- finds the deleted ones by their own small index.
DROP INDEX patients_user_id_id, patients_user_id_name,
    patients_user_id_created_at, patients_user_id_updated_at,
    patients_user_id_name_trgm;
CREATE INDEX patients_user_id_id ON patients (user_id, id)
    WHERE deleted_at IS NULL;
CREATE INDEX patients_user_id_name ON patients (user_id, name, id)
    WHERE deleted_at IS NULL;
CREATE INDEX patients_user_id_created_at ON patients (user_id, created_at, id)
    WHERE deleted_at IS NULL;
CREATE INDEX patients_user_id_updated_at ON patients (user_id, updated_at, id)
    WHERE deleted_at IS NULL;
CREATE INDEX patients_user_id_name_trgm ON patients
    USING gin (name gin_trgm_ops) WHERE deleted_at IS NULL;
CREATE INDEX patients_deleted_at ON patients (deleted_at)
    WHERE deleted_at IS NOT NULL;

DROP INDEX doctors_name, doctors_created_at, doctors_updated_at,
    doctors_specialization, doctors_name_trgm;
CREATE INDEX doctors_live_id ON doctors (id) WHERE deleted_at IS NULL;
CREATE INDEX doctors_name ON doctors (name, id) WHERE deleted_at IS NULL;
CREATE INDEX doctors_created_at ON doctors (created_at, id)
    WHERE deleted_at IS NULL;
CREATE INDEX doctors_updated_at ON doctors (updated_at, id)
    WHERE deleted_at IS NULL;
CREATE INDEX doctors_specialization ON doctors (lower(specialization), id)
    WHERE deleted_at IS NULL;
CREATE INDEX doctors_name_trgm ON doctors USING gin (name gin_trgm_ops)
    WHERE deleted_at IS NULL;
CREATE INDEX doctors_deleted_at ON doctors (deleted_at)
    WHERE deleted_at IS NOT NULL;

-- The versions: the record's columns as the write left them, what the
-- write was, when and by whom.  user_id is the patient's owner, for
-- row-level security.  They go with their record when it is purged.
CREATE TABLE patient_versions (
    patient_id  bigint NOT NULL REFERENCES patients (id) ON DELETE CASCADE,
    version     bigint NOT NULL,
    op          text NOT NULL
                    CHECK (op IN ('create', 'update', 'delete', 'restore')),
    at          timestamptz NOT NULL DEFAULT now(),
    by_user     bigint DEFAULT app_user_id(),
    user_id     bigint NOT NULL,
    name        text NOT NULL,
    age         integer,
    gender      text,
    address     text,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (patient_id, version)
);
CREATE TABLE doctor_versions (
    doctor_id       bigint NOT NULL REFERENCES doctors (id) ON DELETE CASCADE,
    version         bigint NOT NULL,
    op              text NOT NULL
                        CHECK (op IN ('create', 'update', 'delete', 'restore')),
    at              timestamptz NOT NULL DEFAULT now(),
    by_user         bigint DEFAULT app_user_id(),
    name            text NOT NULL,
    specialization  text NOT NULL,
    contact_info    text,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    PRIMARY KEY (doctor_id, version)
);

-- What there is today is each record's first known version.  The owner
-- that runs this is held by row-level security too (FORCE), which would
-- show it no patient: lifted for the copy, in this transaction only.
ALTER TABLE patients NO FORCE ROW LEVEL SECURITY;
INSERT INTO patient_versions (patient_id, version, op, at, by_user, user_id, name,
                              age, gender, address, created_at, updated_at)
SELECT id, version, CASE version WHEN 1 THEN 'create' ELSE 'update' END,
       updated_at, user_id, user_id, name, age, gender, address, created_at,
       updated_at
  FROM patients;
INSERT INTO doctor_versions (doctor_id, version, op, at, by_user, name,
                             specialization, contact_info, created_at,
                             updated_at)
SELECT id, version, CASE version WHEN 1 THEN 'create' ELSE 'update' END,
       updated_at, created_by, name, specialization, contact_info,
       created_at, updated_at
  FROM doctors;
ALTER TABLE patients FORCE ROW LEVEL SECURITY;

-- What a write to a record was, from its deleted_at before and after.
CREATE FUNCTION write_op(tg_op text, was_deleted boolean, is_deleted boolean)
    RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN tg_op = 'INSERT' THEN 'create'
        WHEN is_deleted AND NOT was_deleted THEN 'delete'
        WHEN was_deleted AND NOT is_deleted THEN 'restore'
        ELSE 'update' END
$$;

-- Every write makes a new version, whatever the statement says, so that
-- each is kept: the statements need not (and do not) count versions.
CREATE FUNCTION next_version() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    NEW.version := OLD.version + 1;
    RETURN NEW;
END
$$;
CREATE TRIGGER patients_next_version BEFORE UPDATE ON patients
    FOR EACH ROW EXECUTE FUNCTION next_version();
CREATE TRIGGER doctors_next_version BEFORE UPDATE ON doctors
    FOR EACH ROW EXECUTE FUNCTION next_version();

CREATE FUNCTION patient_keep_version() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO patient_versions (patient_id, version, op, user_id, name,
                                  age, gender, address, created_at,
                                  updated_at)
    VALUES (NEW.id, NEW.version,
            write_op(TG_OP, TG_OP = 'UPDATE' AND OLD.deleted_at IS NOT NULL,
                     NEW.deleted_at IS NOT NULL),
            NEW.user_id, NEW.name, NEW.age, NEW.gender, NEW.address,
            NEW.created_at, NEW.updated_at);
    RETURN NULL;
END
$$;
CREATE TRIGGER patients_keep_version AFTER INSERT OR UPDATE ON patients
    FOR EACH ROW EXECUTE FUNCTION patient_keep_version();

CREATE FUNCTION doctor_keep_version() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO doctor_versions (doctor_id, version, op, name,
                                 specialization, contact_info, created_at,
                                 updated_at)
    VALUES (NEW.id, NEW.version,
            write_op(TG_OP, TG_OP = 'UPDATE' AND OLD.deleted_at IS NOT NULL,
                     NEW.deleted_at IS NOT NULL),
            NEW.name, NEW.specialization, NEW.contact_info, NEW.created_at,
            NEW.updated_at);
    RETURN NULL;
END
$$;
CREATE TRIGGER doctors_keep_version AFTER INSERT OR UPDATE ON doctors
    FOR EACH ROW EXECUTE FUNCTION doctor_keep_version();

-- Versions are read like their records: a patient's by its owner only,
-- a doctor's by anyone signed in.  Nobody changes one; they go only with
-- their record.
ALTER TABLE patient_versions ENABLE ROW LEVEL SECURITY;
ALTER TABLE patient_versions FORCE ROW LEVEL SECURITY;
CREATE POLICY patient_versions_owner ON patient_versions
    USING (user_id = app_user_id()) WITH CHECK (user_id = app_user_id());
GRANT SELECT, INSERT ON patient_versions, doctor_versions TO medrec_app;

-- The trail's new actions and outcomes: a restore, a read of history, a
-- read of a deleted record (gone).  NOT VALID, then VALIDATE: the rows
-- are checked without the lock of a rewrite.
-- The purge's one event (no user: the service's own) says in detail what
-- it removed.
ALTER TABLE audit_events ADD COLUMN detail text;
ALTER TABLE audit_events DROP CONSTRAINT audit_events_action_check;
ALTER TABLE audit_events ADD CONSTRAINT audit_events_action_check
    CHECK (action IN ('register', 'login', 'login_failed', 'logout',
                      'password_change', 'read', 'list', 'create', 'update',
                      'delete', 'restore', 'history', 'export', 'purge'))
    NOT VALID;
ALTER TABLE audit_events VALIDATE CONSTRAINT audit_events_action_check;
ALTER TABLE audit_events DROP CONSTRAINT audit_events_resource_type_check;
ALTER TABLE audit_events ADD CONSTRAINT audit_events_resource_type_check
    CHECK (resource_type IN ('user', 'patient', 'doctor', 'mapping',
                             'service')) NOT VALID;
ALTER TABLE audit_events VALIDATE CONSTRAINT audit_events_resource_type_check;
ALTER TABLE audit_events DROP CONSTRAINT audit_events_outcome_check;
ALTER TABLE audit_events ADD CONSTRAINT audit_events_outcome_check
    CHECK (outcome IN ('found', 'unchanged', 'absent', 'gone', 'created',
                       'updated', 'deleted', 'restored', 'purged', 'granted',
                       'denied', 'throttled', 'revoked', 'changed')) NOT VALID;
ALTER TABLE audit_events VALIDATE CONSTRAINT audit_events_outcome_check;

-- A delete and a restore are updates of deleted_at, audited as what they
-- are.  Only the purge removes patients and doctors, and the mappings to
-- them, and its own event says what: their rows get none.
CREATE OR REPLACE FUNCTION audit_write() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    op text;
BEGIN
    IF TG_OP = 'DELETE' AND TG_ARGV[0] <> 'mapping' THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'DELETE' THEN
        IF NOT EXISTS (SELECT 1 FROM patients WHERE id = OLD.patient_id)
           OR EXISTS (SELECT 1 FROM doctors WHERE id = OLD.doctor_id
                                              AND deleted_at IS NOT NULL) THEN
            RETURN NULL;
        END IF;
        op := 'delete';
    ELSIF TG_ARGV[0] = 'mapping' THEN
        op := 'create';
    ELSE
        op := write_op(TG_OP, TG_OP = 'UPDATE' AND OLD.deleted_at IS NOT NULL,
                       NEW.deleted_at IS NOT NULL);
    END IF;
    INSERT INTO audit_events (action, resource_type, resource_id, outcome)
    VALUES (op, TG_ARGV[0],
            CASE TG_OP WHEN 'DELETE' THEN OLD.id ELSE NEW.id END,
            CASE op WHEN 'create' THEN 'created' WHEN 'update' THEN 'updated'
                    WHEN 'restore' THEN 'restored' ELSE 'deleted' END);
    RETURN NULL;
END
$$;

-- An idempotency key forgets the record it made once that is deleted,
-- as it did when a delete removed the row.
CREATE TRIGGER patients_forget_deleted AFTER UPDATE OF deleted_at ON patients
    FOR EACH ROW WHEN (NEW.deleted_at IS NOT NULL AND OLD.deleted_at IS NULL)
    EXECUTE FUNCTION app_forget_created('/api/patients');
CREATE TRIGGER doctors_forget_deleted AFTER UPDATE OF deleted_at ON doctors
    FOR EACH ROW WHEN (NEW.deleted_at IS NOT NULL AND OLD.deleted_at IS NULL)
    EXECUTE FUNCTION app_forget_created('/api/doctors');

-- The purge (medrec --purge, daily from medrec-purge.timer): patients and
-- doctors deleted more than restore_days ago go for good, with their
-- versions (their foreign keys cascade), their mappings and the
-- idempotency keys that made or restored them, and one audit event says
-- what went.  It runs as the tables' owner, which row-level security holds
-- too (FORCE): these policies let that owner, and no one else, reach the
-- deleted patients and the mappings of any user.
CREATE POLICY patients_purge ON patients TO CURRENT_USER
    USING (deleted_at IS NOT NULL);
CREATE POLICY patient_doctors_purge ON patient_doctors TO CURRENT_USER
    USING (true);

CREATE FUNCTION app_purge(restore_days integer,
                          OUT patients bigint, OUT doctors bigint)
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
    cutoff timestamptz := now() - make_interval(days => restore_days);
    p bigint[];
    d bigint[];
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
    INSERT INTO audit_events (user_id, action, resource_type, outcome, detail)
    VALUES (NULL, 'purge', 'service', 'purged',
            json_build_object('restoreDays', restore_days,
                              'patients', p, 'doctors', d)::text);
END
$$;
REVOKE ALL ON FUNCTION app_purge(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app_purge(integer) TO medrec_app;

-- A patient's own copy (GET /api/patients/:id/export) lists its
-- disclosures: every audit event about it, whoever caused it, which the
-- owner's row-level security alone would not show (another user's attempt
-- to read it, say).  The function checks that the caller owns the patient,
-- then reads as the tables' owner, whom this policy lets read the trail.
CREATE INDEX audit_events_patient ON audit_events (resource_id, id)
    WHERE resource_type = 'patient';
CREATE POLICY audit_events_disclosures ON audit_events FOR SELECT
    TO CURRENT_USER USING (true);

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

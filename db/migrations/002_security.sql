-- Defence in depth: the application role, row-level security, the audit
-- trail, and the per-request context every statement runs under.
--
-- The service connects as a login role that is a member of medrec_app: it
-- owns no table and cannot bypass row-level security.  Migrations run as
-- the owner of the tables.  Creating medrec_app needs CREATEROLE; where the
-- migration role lacks it, a DBA creates it first (README, "Security").

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'medrec_app') THEN
        CREATE ROLE medrec_app NOLOGIN NOSUPERUSER NOBYPASSRLS;
    END IF;
END
$$;

-- The request's context, set by app_begin() at the start of every
-- transaction.  NULL outside a request, so a policy matches nothing.
CREATE FUNCTION app_user_id() RETURNS bigint
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT nullif(current_setting('app.user_id', true), '')::bigint $$;

-- Every audited access, append-only.  user_id is kept without a foreign
-- key so that the trail outlives the user; email is the address tried by
-- a failed login.  Defaults take the request's context.
CREATE TABLE audit_events (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at              timestamptz NOT NULL DEFAULT now(),
    user_id         bigint DEFAULT app_user_id(),
    email           text CHECK (char_length(email) <= 254),
    action          text NOT NULL CHECK (action IN ('register', 'login',
                        'login_failed', 'logout', 'password_change', 'read',
                        'list', 'create', 'update', 'delete')),
    resource_type   text NOT NULL CHECK (resource_type IN ('user',
                        'patient', 'doctor', 'mapping')),
    resource_id     bigint,
    status          smallint NOT NULL CHECK (status BETWEEN 100 AND 599),
    request_id      text DEFAULT nullif(current_setting('app.request_id',
                        true), '') CHECK (char_length(request_id) <= 64),
    client_address  text DEFAULT nullif(current_setting('app.client_address',
                        true), '') CHECK (char_length(client_address) <= 64)
);
CREATE INDEX audit_events_user_id_id ON audit_events (user_id, id);
CREATE INDEX audit_events_user_id_at ON audit_events (user_id, at, id);
CREATE INDEX audit_events_user_id_action ON audit_events (user_id, action, id);
CREATE INDEX audit_events_user_id_resource
    ON audit_events (user_id, resource_type, resource_id, id);

-- Append-only for everyone, the owner included: privileges keep the
-- application role to INSERT and SELECT, and these triggers refuse the
-- rest to any role that is not a superuser.
CREATE FUNCTION audit_events_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only'
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_events_no_update BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();

-- Writes to patient records, mappings and doctors audit themselves, in the
-- transaction that makes them, whichever statement does it.  A mapping
-- removed with its patient is part of the patient's deletion and gets no
-- row of its own: the cascade's triggers fire at the end of the patient's
-- DELETE (at trigger depth 1, like any other), when the patient is gone.
CREATE FUNCTION audit_write() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND TG_ARGV[0] = 'mapping' THEN
        IF NOT EXISTS (SELECT 1 FROM patients WHERE id = OLD.patient_id) THEN
            RETURN NULL;
        END IF;
    END IF;
    INSERT INTO audit_events (action, resource_type, resource_id, status)
    VALUES (CASE TG_OP WHEN 'INSERT' THEN 'create'
                       WHEN 'UPDATE' THEN 'update' ELSE 'delete' END,
            TG_ARGV[0],
            CASE TG_OP WHEN 'DELETE' THEN OLD.id ELSE NEW.id END,
            CASE TG_OP WHEN 'INSERT' THEN 201
                       WHEN 'UPDATE' THEN 200 ELSE 204 END);
    RETURN NULL;
END
$$;
CREATE TRIGGER patients_audit AFTER INSERT OR UPDATE OR DELETE ON patients
    FOR EACH ROW EXECUTE FUNCTION audit_write('patient');
CREATE TRIGGER doctors_audit AFTER INSERT OR UPDATE OR DELETE ON doctors
    FOR EACH ROW EXECUTE FUNCTION audit_write('doctor');
CREATE TRIGGER patient_doctors_audit AFTER INSERT OR DELETE ON patient_doctors
    FOR EACH ROW EXECUTE FUNCTION audit_write('mapping');

-- The start of every request's transaction, in the same round trip as its
-- statements: records the request id and client address for the audit
-- trail and, for a signed-in caller, checks in one lookup that the user
-- exists and the token is not revoked (raising SQLSTATE MR401 otherwise,
-- which aborts the rest of the pipeline) before making them the user that
-- row-level security lets see rows.
CREATE FUNCTION app_begin(request_id text, client_address text,
                          user_id bigint, jti text, iat bigint,
                          read_sync_off boolean, timeout_ms integer)
    RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    -- Per transaction, not per session, so that it holds through
    -- PgBouncer's transaction pooling too.
    PERFORM set_config('statement_timeout', timeout_ms::text, true),
            set_config('app.request_id', request_id, true),
            set_config('app.client_address', client_address, true);
    IF read_sync_off THEN
        PERFORM set_config('synchronous_commit', 'off', true);
    END IF;
    IF user_id IS NULL THEN
        RETURN;
    END IF;
    PERFORM 1 FROM users u
     WHERE u.id = app_begin.user_id
       AND (app_begin.iat > u.tokens_valid_after OR u.keep_jti = app_begin.jti)
       AND NOT EXISTS (SELECT 1 FROM revoked_tokens r
                        WHERE r.jti = app_begin.jti);
    IF NOT FOUND THEN
        RAISE EXCEPTION 'token revoked or user gone' USING ERRCODE = 'MR401';
    END IF;
    PERFORM set_config('app.user_id', user_id::text, true);
END
$$;

-- Row-level security: a request sees and changes only its user's patients,
-- mappings and audit events.  FORCE makes it hold for the owner too.
ALTER TABLE patients ENABLE ROW LEVEL SECURITY;
ALTER TABLE patients FORCE ROW LEVEL SECURITY;
CREATE POLICY patients_owner ON patients
    USING (user_id = app_user_id()) WITH CHECK (user_id = app_user_id());

ALTER TABLE patient_doctors ENABLE ROW LEVEL SECURITY;
ALTER TABLE patient_doctors FORCE ROW LEVEL SECURITY;
CREATE POLICY patient_doctors_owner ON patient_doctors
    USING (user_id = app_user_id()) WITH CHECK (user_id = app_user_id());

ALTER TABLE audit_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_events FORCE ROW LEVEL SECURITY;
CREATE POLICY audit_events_read_own ON audit_events FOR SELECT
    USING (user_id = app_user_id());
CREATE POLICY audit_events_append ON audit_events FOR INSERT
    WITH CHECK (true);

-- Accounts: anyone may read them (a login looks one up by email before
-- anyone is signed in) and register one, but only a signed-in user may
-- change an account, and only their own.
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
ALTER TABLE users FORCE ROW LEVEL SECURITY;
CREATE POLICY users_read ON users FOR SELECT USING (true);
CREATE POLICY users_register ON users FOR INSERT WITH CHECK (true);
CREATE POLICY users_change_own ON users FOR UPDATE
    USING (id = app_user_id()) WITH CHECK (id = app_user_id());

-- What the application role may do, and nothing more.
GRANT USAGE ON SCHEMA public TO medrec_app;
GRANT SELECT ON schema_migrations TO medrec_app;
GRANT SELECT, INSERT, UPDATE ON users TO medrec_app;
GRANT SELECT, INSERT, DELETE ON revoked_tokens, login_failures TO medrec_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON patients, doctors, patient_doctors
    TO medrec_app;
GRANT SELECT, INSERT ON audit_events TO medrec_app;
GRANT EXECUTE ON FUNCTION app_user_id(), app_begin(text, text, bigint, text,
    bigint, boolean, integer) TO medrec_app;

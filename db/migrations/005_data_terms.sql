-- The database speaks of data, not of HTTP.  The audit trail recorded each
-- event's HTTP status, which the SQL computed (THEN 404 ... THEN 304 ELSE
-- 200); it now records the outcome in data terms, and the handler that
-- shows the trail maps outcomes to statuses.  The service's own SQLSTATEs
-- were named after HTTP codes (MR401, MR409, MR208); they now say what
-- happened: MRRVK (the token is revoked or its user gone), MRBSY (an
-- idempotency key is held by a running transaction), MRDUN (the key's
-- request is done and has its response).

-- The outcomes, by action:
--   read            found, unchanged (the caller had that version), absent
--   list            found, absent (a patient's doctors, of no such patient)
--   create, update, delete                    created, updated, deleted
--   register        created         login     granted
--   login_failed    denied (a wrong password), throttled
--   logout          revoked         password_change   changed
-- ALTER COLUMN ... TYPE rewrites the rows without firing the append-only
-- triggers, which an UPDATE would.
ALTER TABLE audit_events DROP CONSTRAINT audit_events_status_check;
ALTER TABLE audit_events ALTER COLUMN status TYPE text USING
    CASE
        WHEN action = 'read' AND status = 304 THEN 'unchanged'
        WHEN action IN ('read', 'list') AND status = 404 THEN 'absent'
        WHEN action IN ('read', 'list') THEN 'found'
        WHEN action IN ('create', 'register') THEN 'created'
        WHEN action = 'update' THEN 'updated'
        WHEN action = 'delete' THEN 'deleted'
        WHEN action = 'login' THEN 'granted'
        WHEN action = 'login_failed' AND status = 429 THEN 'throttled'
        WHEN action = 'login_failed' THEN 'denied'
        WHEN action = 'logout' THEN 'revoked'
        WHEN action = 'password_change' THEN 'changed'
    END;
ALTER TABLE audit_events RENAME COLUMN status TO outcome;
ALTER TABLE audit_events ADD CONSTRAINT audit_events_outcome_check
    CHECK (outcome IN ('found', 'unchanged', 'absent', 'created', 'updated',
                       'deleted', 'granted', 'denied', 'throttled',
                       'revoked', 'changed'));

CREATE OR REPLACE FUNCTION audit_write() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND TG_ARGV[0] = 'mapping' THEN
        IF NOT EXISTS (SELECT 1 FROM patients WHERE id = OLD.patient_id) THEN
            RETURN NULL;
        END IF;
    END IF;
    INSERT INTO audit_events (action, resource_type, resource_id, outcome)
    VALUES (CASE TG_OP WHEN 'INSERT' THEN 'create'
                       WHEN 'UPDATE' THEN 'update' ELSE 'delete' END,
            TG_ARGV[0],
            CASE TG_OP WHEN 'DELETE' THEN OLD.id ELSE NEW.id END,
            CASE TG_OP WHEN 'INSERT' THEN 'created'
                       WHEN 'UPDATE' THEN 'updated' ELSE 'deleted' END);
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION app_begin(request_id text, client_address text,
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
        RAISE EXCEPTION 'token revoked or user gone' USING ERRCODE = 'MRRVK';
    END IF;
    PERFORM set_config('app.user_id', user_id::text, true);
END
$$;

CREATE OR REPLACE FUNCTION app_idempotency_claim(claimed_key text, hash text)
    RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    uid bigint := app_user_id();
BEGIN
    IF NOT pg_try_advisory_xact_lock(
            hashtextextended(uid::text || ':' || claimed_key, 7283910211)) THEN
        RAISE EXCEPTION 'idempotency key in use' USING ERRCODE = 'MRBSY';
    END IF;
    DELETE FROM idempotency_keys
     WHERE user_id = uid AND expires_at <= now();
    PERFORM 1 FROM idempotency_keys
     WHERE user_id = uid AND key = claimed_key;
    IF FOUND THEN
        RAISE EXCEPTION 'idempotency key used' USING ERRCODE = 'MRDUN';
    END IF;
    INSERT INTO idempotency_keys (user_id, key, request_hash)
    VALUES (uid, claimed_key, hash);
END
$$;

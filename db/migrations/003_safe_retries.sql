-- Safe retries (API.md, Idempotency-Key): a key, its user, a hash of the
-- request and the response it got, stored in the transaction that made the
-- record, so a crash never leaves one without the other.  Keys expire after
-- 24 hours; a user's expired keys go when that user next claims one.

CREATE TABLE idempotency_keys (
    user_id       bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key           text NOT NULL CHECK (char_length(key) BETWEEN 1 AND 255),
    request_hash  text NOT NULL,
    status        smallint,
    body          text,
    location      text,
    etag          text,
    expires_at    timestamptz NOT NULL DEFAULT now() + interval '24 hours',
    PRIMARY KEY (user_id, key)
);

ALTER TABLE idempotency_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE idempotency_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY idempotency_keys_owner ON idempotency_keys
    USING (user_id = app_user_id()) WITH CHECK (user_id = app_user_id());
GRANT SELECT, INSERT, UPDATE, DELETE ON idempotency_keys TO medrec_app;

-- Claims key for the request's user in the current transaction.  Raises
-- MR409 while another transaction holds the same key (the first request is
-- still running), MR208 when the key already has a response (a replay),
-- and otherwise records the key with the request's hash.  The advisory
-- lock is what makes a concurrent duplicate a 409 at once rather than a
-- wait: it is taken before the row is looked at, and held to the end of
-- the transaction that creates the record.
CREATE FUNCTION app_idempotency_claim(claimed_key text, hash text)
    RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    uid bigint := app_user_id();
BEGIN
    IF NOT pg_try_advisory_xact_lock(
            hashtextextended(uid::text || ':' || claimed_key, 7283910211)) THEN
        RAISE EXCEPTION 'idempotency key in use' USING ERRCODE = 'MR409';
    END IF;
    DELETE FROM idempotency_keys
     WHERE user_id = uid AND expires_at <= now();
    PERFORM 1 FROM idempotency_keys
     WHERE user_id = uid AND key = claimed_key;
    IF FOUND THEN
        RAISE EXCEPTION 'idempotency key used' USING ERRCODE = 'MR208';
    END IF;
    INSERT INTO idempotency_keys (user_id, key, request_hash)
    VALUES (uid, claimed_key, hash);
END
$$;
GRANT EXECUTE ON FUNCTION app_idempotency_claim(text, text) TO medrec_app;

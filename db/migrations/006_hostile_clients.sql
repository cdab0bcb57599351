-- Hostile clients.  The throttle keys on networks, not addresses; an
-- account's owner is not locked out by strangers' guesses; registrations
-- are counted per network too; and an idempotency key keeps no copy of a
-- record once the record is gone.

-- The network a client address counts for: an IPv6 address's /64 (one
-- customer's, which an attacker may rotate through freely), an IPv4
-- address itself.  Text that is not an address counts as itself.
CREATE FUNCTION app_address_key(address text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    a inet;
BEGIN
    BEGIN
        a := address::inet;
    EXCEPTION WHEN others THEN
        RETURN address;
    END;
    IF family(a) = 6 THEN
        RETURN network(set_masklen(a, 64))::text;
    END IF;
    RETURN host(a);
END
$$;

-- The networks each user has logged in from: an owner who comes back from
-- one of them is not refused by the account's window, which strangers'
-- wrong guesses fill.  Kept 90 days after the last login from there.
CREATE TABLE known_networks (
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    network     text NOT NULL CHECK (char_length(network) <= 64),
    last_login  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, network)
);
GRANT SELECT, INSERT, UPDATE, DELETE ON known_networks TO medrec_app;

-- Failures and the other counters are kept by network from now on.
UPDATE login_failures SET address = app_address_key(address);

-- A login attempt, as 004's, with two changes: the windows count the
-- client's network, and the account window does not apply when the
-- network is one the account's user logged in from (trusted).
DROP FUNCTION app_login_attempt(text, text, integer, integer, integer,
    integer, integer);
CREATE FUNCTION app_login_attempt(attempt_email text, attempt_address text,
        pair_window integer, account_window integer, pair_max integer,
        address_max integer, account_max integer,
        OUT pair_retry bigint, OUT address_retry bigint,
        OUT account_retry bigint, OUT user_id bigint, OUT trusted boolean)
    LANGUAGE plpgsql AS $$
DECLARE
    net text := app_address_key(attempt_address);
BEGIN
    -- Email first, network second, in every transaction: no deadlock.
    PERFORM pg_advisory_xact_lock(1, hashtext(attempt_email));
    PERFORM pg_advisory_xact_lock(2, hashtext(net));
    SELECT u.id INTO user_id FROM users u WHERE lower(u.email) = attempt_email;
    trusted := user_id IS NOT NULL AND EXISTS (
        SELECT 1 FROM known_networks k
         WHERE k.user_id = app_login_attempt.user_id AND k.network = net
           AND k.last_login > now() - interval '90 days');
    SELECT app_login_retry_after(at, pair_window) INTO pair_retry
      FROM login_failures
     WHERE email = attempt_email AND address = net
       AND at > now() - make_interval(secs => pair_window)
     ORDER BY at DESC OFFSET pair_max - 1 LIMIT 1;
    SELECT app_login_retry_after(max(at), pair_window) INTO address_retry
      FROM login_failures
     WHERE address = net
       AND at > now() - make_interval(secs => pair_window)
     GROUP BY email ORDER BY max(at) DESC OFFSET address_max - 1 LIMIT 1;
    IF NOT trusted THEN
        SELECT app_login_retry_after(at, account_window) INTO account_retry
          FROM login_failures
         WHERE email = attempt_email
           AND at > now() - make_interval(secs => account_window)
         ORDER BY at DESC OFFSET account_max - 1 LIMIT 1;
    END IF;
    IF pair_retry IS NULL AND address_retry IS NULL
            AND account_retry IS NULL THEN
        INSERT INTO login_failures (email, address) VALUES (attempt_email, net);
    END IF;
END
$$;

-- A right password: clears the network's failures for the email, and
-- remembers the network as one the user logs in from.
CREATE FUNCTION app_login_succeeded(login_email text, login_address text,
        login_user bigint)
    RETURNS void LANGUAGE sql AS $$
    DELETE FROM login_failures
     WHERE email = login_email AND address = app_address_key(login_address);
    INSERT INTO known_networks (user_id, network)
    VALUES (login_user, app_address_key(login_address))
    ON CONFLICT (user_id, network) DO UPDATE SET last_login = now();
    DELETE FROM known_networks
     WHERE user_id = login_user AND last_login < now() - interval '90 days';
$$;

-- A right password whose hash was made at another cost than the service's
-- is hashed again at login, before anyone is signed in: row-level security
-- lets a user change only their own account, so this runs as the tables'
-- owner, whom the policy below alone lets do it, and only over the very
-- hash that was just checked.
CREATE POLICY users_rehash ON users FOR UPDATE TO CURRENT_USER
    USING (true) WITH CHECK (true);
CREATE FUNCTION app_password_rehash(rehash_user bigint, old_hash text,
        new_hash text)
    RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = public AS $$
    UPDATE users SET password_hash = new_hash
     WHERE id = rehash_user AND password_hash = old_hash;
$$;
REVOKE ALL ON FUNCTION app_password_rehash(bigint, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app_password_rehash(bigint, text, text)
    TO medrec_app;

-- Registrations per network: each costs a bcrypt hash.
CREATE TABLE registrations (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    network     text NOT NULL CHECK (char_length(network) <= 64),
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX registrations_network_at ON registrations (network, at);
CREATE INDEX registrations_at ON registrations (at);
GRANT SELECT, INSERT, DELETE ON registrations TO medrec_app;

-- Checks the network's window and, when it has room, counts this
-- registration: NULL, or the seconds until the window has room.
CREATE FUNCTION app_register_attempt(address text, window_secs integer,
        max_per_window integer)
    RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    net text := app_address_key(address);
    retry bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(3, hashtext(net));
    DELETE FROM registrations
     WHERE at < now() - make_interval(secs => window_secs);
    SELECT app_login_retry_after(at, window_secs) INTO retry
      FROM registrations
     WHERE network = net AND at > now() - make_interval(secs => window_secs)
     ORDER BY at DESC OFFSET max_per_window - 1 LIMIT 1;
    IF retry IS NULL THEN
        INSERT INTO registrations (network) VALUES (net);
    END IF;
    RETURN retry;
END
$$;
GRANT EXECUTE ON FUNCTION app_address_key(text),
    app_login_attempt(text, text, integer, integer, integer, integer,
        integer),
    app_login_succeeded(text, text, bigint),
    app_register_attempt(text, integer, integer) TO medrec_app;

-- An idempotency key keeps the response it replays, the record included.
-- Once that record is deleted, the key keeps only that it is gone (410):
-- neither its data nor a way to read it back.  The trigger runs as the
-- tables' owner, whom this policy alone lets reach other users' keys (a
-- doctor, shared, may have been created with anyone's key).
CREATE INDEX idempotency_keys_location ON idempotency_keys (location);
CREATE INDEX idempotency_keys_expires_at ON idempotency_keys (expires_at);
CREATE POLICY idempotency_keys_forget ON idempotency_keys
    TO CURRENT_USER USING (true) WITH CHECK (true);

CREATE FUNCTION app_forget_created() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
    UPDATE idempotency_keys
       SET status = 410, body = NULL, etag = NULL
     WHERE location = TG_ARGV[0] || '/' || OLD.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER patients_forget AFTER DELETE ON patients
    FOR EACH ROW EXECUTE FUNCTION app_forget_created('/api/patients');
CREATE TRIGGER doctors_forget AFTER DELETE ON doctors
    FOR EACH ROW EXECUTE FUNCTION app_forget_created('/api/doctors');
CREATE TRIGGER patient_doctors_forget AFTER DELETE ON patient_doctors
    FOR EACH ROW EXECUTE FUNCTION app_forget_created('/api/mappings');

-- Expired keys go, every user's, whenever anyone claims one (a bounded
-- batch, so that no claim pays for a backlog at once).
CREATE FUNCTION app_idempotency_expire() RETURNS void
    LANGUAGE sql SECURITY DEFINER SET search_path = public AS $$
    DELETE FROM idempotency_keys
     WHERE ctid = ANY (ARRAY(SELECT ctid FROM idempotency_keys
                              WHERE expires_at <= now() LIMIT 100));
$$;
REVOKE ALL ON FUNCTION app_idempotency_expire() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app_idempotency_expire() TO medrec_app;

CREATE OR REPLACE FUNCTION app_idempotency_claim(claimed_key text, hash text)
    RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    uid bigint := app_user_id();
BEGIN
    IF NOT pg_try_advisory_xact_lock(
            hashtextextended(uid::text || ':' || claimed_key, 7283910211)) THEN
        RAISE EXCEPTION 'idempotency key in use' USING ERRCODE = 'MRBSY';
    END IF;
    PERFORM app_idempotency_expire();
    PERFORM 1 FROM idempotency_keys
     WHERE user_id = uid AND key = claimed_key AND expires_at > now();
    IF FOUND THEN
        RAISE EXCEPTION 'idempotency key used' USING ERRCODE = 'MRDUN';
    END IF;
    DELETE FROM idempotency_keys WHERE user_id = uid AND key = claimed_key;
    INSERT INTO idempotency_keys (user_id, key, request_hash)
    VALUES (uid, claimed_key, hash);
END
$$;

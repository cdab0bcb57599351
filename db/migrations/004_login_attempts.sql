-- Login throttling without a race.  The windows used to be checked before
-- the password and a failure recorded after it; bcrypt takes long enough
-- that a pool's worth of concurrent guesses could all pass the check
-- before the first of them had failed.  Now one short transaction checks
-- the windows and, when they have room, counts the attempt as a failure
-- before the password is checked; a right password clears it again (the
-- login deletes the pair's failures).  Advisory locks on the email and on
-- the address serialize that step among attempts that share either.

-- Whole seconds until a failure at time "failed" leaves a window of
-- window_secs seconds.
CREATE FUNCTION app_login_retry_after(failed timestamptz, window_secs integer)
    RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT ceil(extract(epoch FROM failed + make_interval(secs => window_secs)
                - now()))::bigint
$$;

-- Returns, for each window that is full, the seconds until it frees up
-- (NULL while it has room), and the id of the email's user (NULL when
-- none).  Each window is full when its limit-th most recent failure is
-- still in it, and frees up when that failure leaves it.
CREATE FUNCTION app_login_attempt(attempt_email text, attempt_address text,
        pair_window integer, account_window integer, pair_max integer,
        address_max integer, account_max integer,
        OUT pair_retry bigint, OUT address_retry bigint,
        OUT account_retry bigint, OUT user_id bigint)
    LANGUAGE plpgsql AS $$
BEGIN
    -- Email first, address second, in every transaction: no deadlock.
    -- The two-key form keeps these apart from the one-key locks elsewhere.
    PERFORM pg_advisory_xact_lock(1, hashtext(attempt_email));
    PERFORM pg_advisory_xact_lock(2, hashtext(attempt_address));
    -- Each statement below takes a snapshot after the locks, so it sees
    -- the failures counted by the attempts that held them before.
    SELECT app_login_retry_after(at, pair_window) INTO pair_retry
      FROM login_failures
     WHERE email = attempt_email AND address = attempt_address
       AND at > now() - make_interval(secs => pair_window)
     ORDER BY at DESC OFFSET pair_max - 1 LIMIT 1;
    SELECT app_login_retry_after(max(at), pair_window) INTO address_retry
      FROM login_failures
     WHERE address = attempt_address
       AND at > now() - make_interval(secs => pair_window)
     GROUP BY email ORDER BY max(at) DESC OFFSET address_max - 1 LIMIT 1;
    SELECT app_login_retry_after(at, account_window) INTO account_retry
      FROM login_failures
     WHERE email = attempt_email
       AND at > now() - make_interval(secs => account_window)
     ORDER BY at DESC OFFSET account_max - 1 LIMIT 1;
    IF pair_retry IS NULL AND address_retry IS NULL
            AND account_retry IS NULL THEN
        INSERT INTO login_failures (email, address)
        VALUES (attempt_email, attempt_address);
    END IF;
    SELECT id INTO user_id FROM users WHERE lower(email) = attempt_email;
END
$$;

-- S3, POST /api/patients with a token and no Idempotency-Key, as db_exec()
-- in db/db.c sends it: app_begin (the token check and the caller) and the
-- insert in one pipeline, then one sync; the insert's audit row is written
-- by the trigger of 002_security.sql.
-- bench/check-sql keeps each statement equal to the C source's.
-- Variables from script/bench: users, user_base, addr, jti, iat, f, name,
-- gender, address, timeout_ms.
\set u random(0, :users - 1)
\set uid :user_base + :u
\set age random(0, 99)
\set rid random(1, 1000000000)
\startpipeline
-- db/db.c app_begin
SELECT app_begin(:rid, :addr, :uid, :jti, :iat, :f, :timeout_ms);
-- db/patients.c patient_create
INSERT INTO patients (user_id, name, age, gender, address)
VALUES (:uid, :name, :age::integer, :gender, :address)
RETURNING id, name, age, gender, address, version, (extract(epoch FROM created_at) * 1000000)::bigint, (extract(epoch FROM updated_at) * 1000000)::bigint,
          (extract(epoch FROM deleted_at) * 1000000)::bigint AS deleted_at;
\endpipeline

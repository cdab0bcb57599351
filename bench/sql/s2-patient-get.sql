-- S2, GET /api/patients/:id with a token and no If-None-Match, as db_exec()
-- in db/db.c sends it: app_begin (the token check and the caller) and the
-- read with its audit row in one pipeline, then one sync.  read_sync_off is
-- t when the pool runs with AUDIT_READ_SYNC=off.
-- bench/check-sql keeps each statement equal to the C source's.
-- Variables from script/bench: users, user_base, per_user, patient_base,
-- addr, jti, iat, read_sync_off, f, timeout_ms.
\set u random(0, :users - 1)
\set uid :user_base + :u
\set pid :patient_base + :u * :per_user + random(1, :per_user)
\set rid random(1, 1000000000)
\startpipeline
-- db/db.c app_begin
SELECT app_begin(:rid, :addr, :uid, :jti, :iat, :read_sync_off, :timeout_ms);
-- db/patients.c patient_get
WITH p AS (SELECT id, name, age, gender, address, version, (extract(epoch FROM created_at) * 1000000)::bigint, (extract(epoch FROM updated_at) * 1000000)::bigint,
                    (extract(epoch FROM deleted_at) * 1000000)::bigint AS deleted_at
             FROM patients WHERE id = :pid AND user_id = :uid),
     audit AS (INSERT INTO audit_events (action, resource_type, resource_id, outcome)
               SELECT 'read', 'patient', :pid,
                      CASE WHEN NOT EXISTS (SELECT FROM p) THEN 'absent'
                           WHEN (SELECT deleted_at FROM p) IS NOT NULL THEN 'gone'
                           WHEN :f::boolean OR (SELECT version FROM p) = ANY (NULL::bigint[])
                           THEN 'unchanged' ELSE 'found' END)
SELECT * FROM p;
\endpipeline

-- S1, GET /api/doctors/:id, as db_exec() in db/db.c sends it: app_begin
-- (an anonymous caller: no user, token id or iat) and the statement in one
-- pipeline, then one sync, so the two are one implicit transaction.
-- bench/check-sql keeps each statement equal to the C source's.
-- Variables from script/bench: doctors, addr, f, timeout_ms.
\set id random(1, :doctors)
\set rid random(1, 1000000000)
\startpipeline
-- db/db.c app_begin
SELECT app_begin(:rid, :addr, NULL, NULL, NULL, :f, :timeout_ms);
-- db/doctors.c doctor_get
SELECT id, name, specialization, contact_info, version,
       (extract(epoch FROM created_at) * 1000000)::bigint,
       (extract(epoch FROM updated_at) * 1000000)::bigint,
       (extract(epoch FROM deleted_at) * 1000000)::bigint AS deleted_at
  FROM doctors WHERE id = :id;
\endpipeline

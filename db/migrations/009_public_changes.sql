-- Workers answer public reads (the doctors) from their memory while
-- nothing has changed (handlers/cache.c).  Every committed write to the
-- doctors, whoever makes it (the service, another pool, psql), notifies
-- the connections that listen on medrec_public, so that every pool, on
-- this host or another, forgets what it kept.  Once a statement: a
-- transaction's notifications with the same payload are sent once, at its
-- commit, and never for a rollback.

CREATE FUNCTION public_changed() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('medrec_public', TG_TABLE_NAME);
	RETURN NULL;
END
$$;

CREATE TRIGGER doctors_public_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON doctors
    FOR EACH STATEMENT EXECUTE FUNCTION public_changed();

/*
 * Idempotency keys (API.md "Safe retries"): claimed in the transaction that
 * creates a record, completed with the response in the same transaction.
 */
#ifndef DB_IDEMPOTENCY_H
#define DB_IDEMPOTENCY_H

#include "db.h"


/* A stored response, for a replay. */
struct idempotent_reply {
	const char	*request_hash;
	int		 status;
	const char	*body;
	const char	*location;	/* or NULL */
	const char	*etag;		/* or NULL */
};

/*
 * Begins a transaction (db_begin) and claims key, for the acting user,
 * with the request's hash.
 * DB_OK: go ahead; DB_BUSY: another request holds the key; DB_REPLAY: it
 * has a response (read it with db_idempotency_get after db_rollback).  On
 * anything but DB_OK the transaction is over.
 */
enum db_status	db_idempotency_claim(struct db_ctx *, const char *key,
		    const char *hash);
enum db_status	db_idempotency_get(struct db_ctx *, const char *key,
		    struct idempotent_reply *);
/*
 * Stores the response with the key and commits the transaction, and with
 * it the record: if this fails, neither is kept.
 */
enum db_status	db_idempotency_finish(struct db_ctx *, const char *key,
		    const struct idempotent_reply *);

#endif

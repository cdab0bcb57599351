/*
 * GET /api/patients/:id/export: a patient's own copy (HIPAA's right of
 * access and accounting of disclosures, GDPR articles 15 and 20), one JSON
 * document streamed as it is read from one snapshot: the record, when it
 * was deleted (a deleted patient can be exported until it is purged), its
 * versions, its doctors and its disclosures, every audit event about it.
 * The worker's memory stays that of one batch of rows, however long the
 * history.  A failure half way is logged and leaves the document
 * unfinished, so that no client takes it for the whole copy.
 */
#include <inttypes.h>

#include "audit.h"
#include "handlers.h"
#include "json.h"
#include "log.h"
#include "mappings.h"
#include "patients.h"
#include "req.h"
#include "resource.h"

/* What goes to the client at once, rather than grow in memory. */
#define FLUSH_AT	(64 * 1024)

static const struct json_col disclosure_json[] = {
	{ "at",            J_TIME, AUDIT_AT, NULL },
	{ "userId",        J_INT,  AUDIT_USER_ID, NULL },
	{ "action",        J_TEXT, AUDIT_ACTION, NULL },
	{ "status",        J_FN,   AUDIT_OUTCOME, audit_status_json },
	{ "requestId",     J_TEXT, AUDIT_REQUEST_ID, NULL },
	{ "clientAddress", J_TEXT, AUDIT_CLIENT_ADDRESS, NULL },
};

/* One array of the document, written row by row. */
struct section {
	const char	*name;
	enum db_status	(*each)(struct db_ctx *, int64_t,
			    int (*)(void *, const struct db_row *), void *);
	const struct json_col *json;
	size_t		 njson;
};

struct writer {
	struct req		*r;
	const struct section	*s;
	int			 first;
};

static int
write_row(void *arg, const struct db_row *row)
{
	struct writer	*w = arg;

	if (!w->first)
		buf_putc(&w->r->out, ',');
	w->first = 0;
	json_row(&w->r->out, w->s->json, w->s->njson, row);
	return w->r->out.len >= FLUSH_AT ? resp_stream_flush(w->r) : 0;
}

int
patient_export(struct req *r)
{
	const struct section	 sections[] = {
		{ "history", db_export_versions, patient_history.json,
		    patient_history.njson },
		{ "doctors", db_export_doctors, patient_doctor_list.json,
		    patient_doctor_list.njson },
		{ "disclosures", db_export_disclosures, disclosure_json,
		    NELEMS(disclosure_json) },
	};
	struct db_ctx		*ctx = req_db(r);
	struct writer		 w = { r, NULL, 1 };
	struct db_row		 row;
	enum db_status		 st;
	size_t			 i;

	if ((st = db_export_begin(ctx, r->ids[0], &row)) != DB_OK)
		return reply_db(r, st, "patient", r->ids[0], NULL);
	resp_header(r, "Content-Type", "application/json");
	resp_header(r, "Content-Disposition", "attachment; "
	    "filename=\"patient-%" PRId64 ".json\"", r->ids[0]);
	if (resp_stream_begin(r, 200) == -1)
		return r->status;
	buf_puts(&r->out, "{\"patient\":");
	json_row(&r->out, patient_list.json, patient_list.njson, &row);
	buf_puts(&r->out, ",\"deletedAt\":");
	if (row.cell[PATIENT_DELETED] == NULL)
		buf_puts(&r->out, "null");
	else
		json_time(&r->out, db_cell_int(&row, PATIENT_DELETED));
	for (i = 0; i < NELEMS(sections); i++) {
		buf_printf(&r->out, ",\"%s\":[", sections[i].name);
		w.s = &sections[i];
		w.first = 1;
		if ((st = sections[i].each(ctx, r->ids[0], write_row, &w)) !=
		    DB_OK)
			goto cut;
		buf_putc(&r->out, ']');
	}
	buf_putc(&r->out, '}');
	if ((st = db_commit(ctx)) != DB_OK)
		goto cut;
	(void)resp_stream_flush(r);
	return r->status;
cut:
	log_msg(r->id, "error", "the export of patient %" PRId64 " was cut "
	    "short (%d): its document is unfinished", r->ids[0], (int)st);
	(void)resp_stream_flush(r);
	return r->status;
}

/*
 * handlers/auth.c compiled whole, so that the fuzz targets reach its static
 * field-spec tables (see tables.h).  script/fuzz links this object in place
 * of handlers/auth.o.
 */
#include "../../handlers/auth.c"
#include "tables.h"

const struct fuzz_fields fuzz_register_fields = {
	"register", register_spec, NFIELDS(register_spec),
};
const struct fuzz_fields fuzz_login_fields = {
	"login", login_spec, NFIELDS(login_spec),
};
const struct fuzz_fields fuzz_password_fields = {
	"password", password_spec, NFIELDS(password_spec),
};

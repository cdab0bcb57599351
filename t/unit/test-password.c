/*
 * Unit tests for password.c: bcrypt hashes that verify, the 72-byte and
 * NUL limits that refuse rather than truncate, fresh salts, and the dummy
 * hash that makes an unknown user cost as much as a wrong password.  Cost
 * 4, bcrypt's lowest, keeps them fast.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "password.h"
#include "tap.h"

#define COST	4
#define PW	"correct horse battery staple"
#define PW72	"123456789012345678901234567890123456" \
		"123456789012345678901234567890123456"

int
main(void)
{
	char	 h[PASSWORD_HASH_MAX], h2[PASSWORD_HASH_MAX];
	char	 h72[PASSWORD_HASH_MAX], pw73[] = PW72 "3";

	is_int(password_hash(PW, strlen(PW), COST, h), 0, "a password hashes");
	ok(strncmp(h, "$2b$04$", 7) == 0, "the hash starts with $2b$04$");
	is_int(strlen(h), 60, "a bcrypt hash has 60 characters");
	is_int(password_verify(PW, strlen(PW), h, COST), 1,
	    "the right password verifies");
	is_int(password_verify("correct horse battery stapler", 29, h, COST),
	    0, "a wrong password does not verify");
	is_int(password_verify(PW, strlen(PW) - 1, h, COST), 0,
	    "a prefix of the password does not verify");
	is_int(password_verify("", 0, h, COST), 0,
	    "an empty password does not verify");

	is_int(password_hash(PW, strlen(PW), COST, h2), 0,
	    "the same password hashes again");
	ok(strcmp(h, h2) != 0, "two hashes of one password differ (salt)");
	is_int(password_verify(PW, strlen(PW), h2, COST), 1,
	    "and the second verifies too");

	is_int(password_hash(PW72, 72, COST, h72), 0,
	    "a 72-byte password is accepted");
	is_int(password_verify(PW72, 72, h72, COST), 1,
	    "a 72-byte password verifies");
	is_int(password_hash(pw73, 73, COST, h2), -1,
	    "a 73-byte password is refused");
	is_int(password_verify(pw73, 73, h72, COST), 0,
	    "a 73-byte password never verifies, even when its first 72 do");

	is_int(password_hash("abc\0defgh", 9, COST, h2), -1,
	    "a password holding a NUL is refused");
	is_int(password_hash("abc", 3, COST, h2), 0, "\"abc\" hashes");
	is_int(password_verify("abc\0defgh", 9, h2, COST), 0,
	    "a password holding a NUL does not verify against its prefix");

	is_int(password_hash(PW, strlen(PW), 3, h2), -1,
	    "cost 3 is refused");
	is_int(password_hash(PW, strlen(PW), 32, h2), -1,
	    "cost 32 is refused");
	is_int(password_verify(PW, strlen(PW), "", COST), 0,
	    "an empty stored hash verifies nothing");
	is_int(password_verify(PW, strlen(PW), "*0", COST), 0,
	    "a failure token as stored hash verifies nothing");

	is_int(password_verify(PW, strlen(PW), NULL, COST), 0,
	    "verify with a NULL hash returns 0");
	is_int(password_verify(PW, strlen(PW), NULL, COST), 0,
	    "and again once the dummy is made");
	is_int(password_verify("not a password", 14, NULL, COST), 0,
	    "even with the dummy's own password");
	is_int(password_verify(PW, strlen(PW), NULL, 99), 0,
	    "and with a cost out of range");

	return tap_done();
}

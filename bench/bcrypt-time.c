/*
 * The time of one bcrypt hash at a given cost, through libxcrypt's
 * crypt_rn() as fcgi-app/password.c calls it: script/bench divides the
 * machine's cores by it to get the login ceiling S5 is read against.
 *
 *	bcrypt-time COST [N]
 *
 * Hashes one password N times (default 5) after one untimed hash and
 * prints the mean seconds per hash.
 */
#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char *argv[])
{
	static struct crypt_data	 d;
	char				 setting[CRYPT_GENSALT_OUTPUT_SIZE];
	double				 t0 = 0;
	int				 cost, n, i;

	if (argc < 2 || (cost = atoi(argv[1])) < 4 || cost > 31) {
		fprintf(stderr, "usage: bcrypt-time COST [N]\n");
		return 2;
	}
	n = argc > 2 ? atoi(argv[2]) : 5;
	if (n < 1)
		n = 1;
	if (crypt_gensalt_rn("$2b$", (unsigned long)cost, NULL, 0, setting,
	    sizeof(setting)) == NULL) {
		perror("crypt_gensalt_rn");
		return 1;
	}
	for (i = -1; i < n; i++) {
		if (i == 0)
			t0 = now();
		memset(&d, 0, sizeof(d));
		strcpy(d.input, "correct horse battery");
		if (crypt_rn(d.input, setting, &d, sizeof(d)) == NULL ||
		    d.output[0] == '*') {
			perror("crypt_rn");
			return 1;
		}
	}
	printf("%.6f\n", (now() - t0) / n);
	return 0;
}

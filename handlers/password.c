/*
 * bcrypt password hashes through libxcrypt.  The passphrase is copied into
 * a struct crypt_data on the stack and the whole struct is wiped with
 * explicit_bzero() before returning, so no copy of a password outlives the
 * call.  The struct is about 32 KiB: on the stack it costs nothing between
 * calls, needs no lock or thread-local storage, and cannot carry one
 * caller's password into the next call, which a static buffer could.
 *
 * bcrypt reads at most 72 bytes and stops at a NUL, so longer passwords and
 * passwords holding a NUL are refused rather than silently cut short.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>		/* explicit_bzero: _GNU_SOURCE */
#include <sys/mman.h>
#include <time.h>

#include <crypt.h>
#include <openssl/crypto.h>

#include "metrics.h"
#include "password.h"

#define PASSWORD_MAX	72	/* bytes bcrypt reads */

/* Adds one to a counter of /metrics, once the pool has made them. */
#define count(c)	do { if (metrics != NULL) metrics_add((c), 1); } while (0)
#define COST_MAX	31	/* bcrypt's highest cost */

/*
 * Copies pw into d->input and hashes it with setting.  Returns the hash in
 * d->output, or NULL.  The caller wipes d.
 */
static const char *
hash_into(struct crypt_data *d, const char *pw, size_t len,
    const char *setting)
{
	const char	*h;

	if (len > PASSWORD_MAX || memchr(pw, '\0', len) != NULL)
		return NULL;
	memcpy(d->input, pw, len);
	d->input[len] = '\0';
	h = crypt_rn(d->input, setting, d, sizeof(*d));
	if (h == NULL || h[0] == '*')
		return NULL;
	return h;
}

int
password_hash(const char *pw, size_t len, int cost,
    char out[PASSWORD_HASH_MAX])
{
	struct crypt_data	 d;
	const char		*h;
	int			 rc = -1;

	count(&metrics->password_hashes);
	memset(&d, 0, sizeof(d));
	if (crypt_gensalt_rn("$2b$", (unsigned long)cost, NULL, 0, d.setting,
	    sizeof(d.setting)) == NULL)
		goto out;
	if ((h = hash_into(&d, pw, len, d.setting)) == NULL ||
	    strlen(h) >= PASSWORD_HASH_MAX)
		goto out;
	memcpy(out, h, strlen(h) + 1);
	rc = 0;
out:
	explicit_bzero(&d, sizeof(d));
	return rc;
}

/*
 * A hash of the given cost for unknown users, made on first use and kept
 * for the life of the process.  Workers are single-threaded processes.
 * Returns NULL when the cost is out of range or hashing fails.
 */
static const char *
dummy_hash(int cost)
{
	static char	 dummy[COST_MAX + 1][PASSWORD_HASH_MAX];

	if (cost < 0 || cost > COST_MAX)
		return NULL;
	if (dummy[cost][0] == '\0' &&
	    password_hash("not a password", 14, cost, dummy[cost]) == -1)
		return NULL;
	return dummy[cost];
}

int
password_verify(const char *pw, size_t len, const char *hash, int cost)
{
	struct crypt_data	 d;
	const char		*h;
	int			 known = hash != NULL, match = 0;

	/*
	 * With no user there is no hash, but answering at once would tell
	 * an attacker which emails have accounts.  Hash against a dummy of
	 * the same cost so that an unknown user takes as long as a wrong
	 * password, and never match.
	 */
	if (!known && (hash = dummy_hash(cost)) == NULL)
		return 0;
	count(&metrics->password_hashes);
	memset(&d, 0, sizeof(d));
	if ((h = hash_into(&d, pw, len, hash)) != NULL &&
	    strlen(h) == strlen(hash) &&
	    CRYPTO_memcmp(h, hash, strlen(h)) == 0)
		match = 1;
	explicit_bzero(&d, sizeof(d));
	return known && match;
}

int
password_cost(const char *hash)
{
	/* "$2b$12$...": the cost is the two digits after the prefix. */
	if (hash == NULL || strncmp(hash, "$2b$", 4) != 0 ||
	    hash[4] < '0' || hash[4] > '9' || hash[5] < '0' || hash[5] > '9' ||
	    hash[6] != '$')
		return -1;
	return (hash[4] - '0') * 10 + (hash[5] - '0');
}

/*
 * The budget is a generic cell rate algorithm (a token bucket kept as one
 * number): tat is when the bucket would be full again, in nanoseconds of
 * CLOCK_MONOTONIC, which every process of the machine shares.  A hash
 * moves it one interval on; a hash that would move it more than burst
 * intervals past now is refused.  One compare-and-swap per hash and no
 * lock, so a worker killed at any point leaves nothing held.
 */
struct budget {
	int64_t		 tat;
	int64_t		 interval;	/* nanoseconds a hash costs */
	int64_t		 burst;		/* nanoseconds of hashes at once */
};

static struct budget	*budget;

static int64_t
clock_ns(clockid_t clock)
{
	struct timespec	 ts;

	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t
now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

double
password_budget_init(int cost, int share, long cores)
{
	int64_t	 t0;
	double	 hash_s, rate;

	if ((budget = mmap(NULL, sizeof(*budget), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0)) == MAP_FAILED) {
		budget = NULL;
		return 0;
	}
	/* The dummy hash for unknown emails, made here once, is also the
	 * measure of what one hash costs on this machine: in processor time,
	 * so that a pool started while the machine is busy (a build, other
	 * pools) does not take a lower rate for its whole life. */
	t0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
	(void)dummy_hash(cost);
	hash_s = (double)(clock_ns(CLOCK_PROCESS_CPUTIME_ID) - t0) / 1e9;
	if (hash_s <= 0)
		hash_s = 1e-6;
	rate = (double)(cores > 0 ? cores : 1) * share / 100.0 / hash_s;
	budget->interval = (int64_t)(1e9 / rate);
	/* Room for a second's worth, and at least four, so that a burst of
	 * real users passes. */
	budget->burst = budget->interval * 4 > 1000000000 ?
	    budget->interval * 4 : 1000000000;
	budget->tat = now_ns();
	return rate;
}

int
password_budget_take(void)
{
	int64_t	 now, tat, next;

	if (budget == NULL)
		return 1;
	now = now_ns();
	tat = __atomic_load_n(&budget->tat, __ATOMIC_RELAXED);
	do {
		next = (tat > now ? tat : now) + budget->interval;
		if (next - now > budget->burst) {
			count(&metrics->password_refused);
			return 0;
		}
	} while (!__atomic_compare_exchange_n(&budget->tat, &tat, next, 0,
	    __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	return 1;
}

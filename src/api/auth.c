/* auth.c - token file, token creation and the daemon's re-reading check. */
#include "auth.h"

#include <ctype.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sha256.h"
#include "util/cleanup.h"

/* A token line is about 100 bytes with a label of at most 64. */
#define TOKEN_LINE_MAX 512

static const char *const role_names[] = {"read-only", "vm-operator", "pool-admin"};

int carve_role_parse(const char *s, enum carve_role *out)
{
	for (size_t i = 0; s && i < ARRAY_SIZE(role_names); i++)
		if (strcasecmp(s, role_names[i]) == 0) {
			*out = (enum carve_role)i;
			return 0;
		}
	return -EINVAL;
}

const char *carve_role_name(enum carve_role r)
{
	return (unsigned)r < ARRAY_SIZE(role_names) ? role_names[r] : "unknown";
}

struct token_entry {
	uint8_t hash[CARVE_SHA256_LEN];
	enum carve_role role;
};

struct carve_tokens {
	struct token_entry *v;
	size_t n;
};

void carve_tokens_free(struct carve_tokens *t)
{
	if (!t)
		return;
	free(t->v);
	free(t);
}
CARVE_DEFINE_CLEANUP(struct carve_tokens, carve_tokens_free)

size_t carve_tokens_count(const struct carve_tokens *t)
{
	return t ? t->n : 0;
}

static int unhex(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int v = 0;
		for (int k = 0; k < 2; k++) {
			char c = s[2 * i + k];
			int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
			if (d < 0)
				return -EINVAL;
			v = v * 16 + d;
		}
		out[i] = (uint8_t)v;
	}
	return 0;
}

int carve_tokens_load(const char *path, struct carve_tokens **out, struct carve_error *err)
{
	_cleanup_(carve_tokens_freep) struct carve_tokens *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT) {
			*out = TAKE_PTR(t);
			return 0;
		}
		return carve_error_set(err, -errno, "TOKEN_FILE_UNREADABLE", "cannot read token file %s: %s", path,
				       strerror(errno));
	}
	_cleanup_free_ char *line = NULL;
	size_t cap = 0, linecap = 0;
	ssize_t len;
	for (unsigned lineno = 1; (len = getline(&line, &linecap, f)) >= 0; lineno++) {
		/* A line is taken whole or the file is refused: a tail cut off
		 * a long line, or text after a NUL, must never read as a token. */
		if (len > TOKEN_LINE_MAX)
			return carve_error_set(err, -EINVAL, "TOKEN_FILE_INVALID", "%s:%u: line longer than %d bytes",
					       path, lineno, TOKEN_LINE_MAX);
		if (strlen(line) != (size_t)len)
			return carve_error_set(err, -EINVAL, "TOKEN_FILE_INVALID", "%s:%u: NUL byte in line", path,
					       lineno);
		char *p = line;
		while (isspace((unsigned char)*p))
			p++;
		if (*p == '\0' || *p == '#')
			continue;
		char hash[65], role[32];
		int used = 0;
		if (sscanf(p, "%64s %31s%n", hash, role, &used) != 2 || strlen(hash) != 64)
			return carve_error_set(err, -EINVAL, "TOKEN_FILE_INVALID", "%s:%u: expected '<sha256> <role> ...'",
					       path, lineno);
		struct token_entry e;
		if (unhex(hash, e.hash, sizeof(e.hash)) < 0)
			return carve_error_set(err, -EINVAL, "TOKEN_FILE_INVALID", "%s:%u: hash is not 64 hex digits",
					       path, lineno);
		if (carve_role_parse(role, &e.role) < 0)
			return carve_error_set(err, -EINVAL, "TOKEN_FILE_INVALID", "%s:%u: unknown role '%s'", path,
					       lineno, role);
		if (t->n == cap) {
			size_t ncap = cap ? 2 * cap : 16;
			struct token_entry *v = realloc(t->v, ncap * sizeof(*v));
			if (!v)
				return -ENOMEM;
			t->v = v;
			cap = ncap;
		}
		t->v[t->n++] = e;
	}
	if (ferror(f))
		return carve_error_set(err, -EIO, "TOKEN_FILE_UNREADABLE", "error reading %s", path);
	*out = TAKE_PTR(t);
	return 0;
}

int carve_tokens_lookup(const struct carve_tokens *t, const char *token, enum carve_role *role)
{
	if (!t || !token)
		return -ENOENT;
	uint8_t h[CARVE_SHA256_LEN];
	carve_sha256(token, strlen(token), h);
	int found = -1;
	/* Compare every entry fully so timing says nothing about which matched. */
	for (size_t i = 0; i < t->n; i++) {
		uint8_t diff = 0;
		for (size_t k = 0; k < sizeof(h); k++)
			diff |= (uint8_t)(h[k] ^ t->v[i].hash[k]);
		if (diff == 0 && found < 0)
			found = (int)i;
	}
	if (found < 0)
		return -ENOENT;
	*role = t->v[found].role;
	return 0;
}

static bool label_valid(const char *s)
{
	if (strlen(s) > 64)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("_.@-", *s))
			return false;
	return true;
}

int carve_token_create(const char *path, enum carve_role role, const char *label, char *out,
		       struct carve_error *err)
{
	if ((unsigned)role > CARVE_ROLE_POOL_ADMIN)
		return carve_error_set(err, -EINVAL, "INVALID_VALUE", "unknown role");
	if (label && !label_valid(label))
		return carve_error_set(err, -EINVAL, "INVALID_VALUE",
				       "label: at most 64 of [A-Za-z0-9_.@-], got '%.64s'", label);
	uint8_t rnd[32];
	size_t got = 0;
	while (got < sizeof(rnd)) {
		ssize_t n = getrandom(rnd + got, sizeof(rnd) - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return carve_error_set(err, -errno, "RANDOM_UNAVAILABLE", "getrandom: %s", strerror(errno));
		}
		got += (size_t)n;
	}
	char tok[CARVE_TOKEN_LEN + 1];
	int off = snprintf(tok, sizeof(tok), "%s", CARVE_TOKEN_PREFIX);
	for (size_t i = 0; i < sizeof(rnd); i++)
		off += snprintf(tok + off, sizeof(tok) - (size_t)off, "%02x", rnd[i]);
	char hash[65];
	carve_sha256_hex(tok, strlen(tok), hash);

	time_t now = time(NULL);
	struct tm tm;
	char when[32];
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);

	_cleanup_close_ int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return carve_error_set(err, -errno, "TOKEN_FILE_UNWRITABLE", "cannot open token file %s: %s", path,
				       strerror(errno));
	/* Creators in several processes (CLI and daemon) append whole lines. */
	if (flock(fd, LOCK_EX) < 0)
		return carve_error_set(err, -errno, "TOKEN_FILE_UNWRITABLE", "flock %s: %s", path, strerror(errno));
	char line[256];
	int len = snprintf(line, sizeof(line), "%s %s %s%s%s\n", hash, carve_role_name(role), when,
			   label && *label ? " " : "", label ? label : "");
	if (write(fd, line, (size_t)len) != len || fsync(fd) < 0)
		return carve_error_set(err, -EIO, "TOKEN_FILE_UNWRITABLE", "cannot write token file %s: %s", path,
				       strerror(errno));
	memcpy(out, tok, sizeof(tok));
	return 0;
}

/* ---- the daemon's view: a token set that follows its file ---- */

struct carve_auth {
	char *path;
	pthread_mutex_t lock;
	struct carve_tokens *tokens; /* guarded by lock */
	struct stat st;              /* of the file last loaded; st_ino 0 = missing */
};

void carve_auth_free(struct carve_auth *a)
{
	if (!a)
		return;
	carve_tokens_free(a->tokens);
	pthread_mutex_destroy(&a->lock);
	free(a->path);
	free(a);
}

const char *carve_auth_path(const struct carve_auth *a)
{
	return a->path;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Reload if the file changed; caller holds a->lock.  On a bad file the old
 * set stays in force (the error is returned for logging). */
static int auth_refresh_locked(struct carve_auth *a, struct carve_error *err)
{
	struct stat st = {0};
	if (stat(a->path, &st) < 0)
		memset(&st, 0, sizeof(st));
	if (a->tokens && same_file(&st, &a->st))
		return 0;
	struct carve_tokens *t = NULL;
	int r = carve_tokens_load(a->path, &t, err);
	if (r < 0)
		return r;
	carve_tokens_free(a->tokens);
	a->tokens = t;
	a->st = st;
	return 0;
}

int carve_auth_new(const char *path, struct carve_auth **out, struct carve_error *err)
{
	struct carve_auth *a = calloc(1, sizeof(*a));
	if (!a || !(a->path = strdup(path))) {
		free(a);
		return -ENOMEM;
	}
	pthread_mutex_init(&a->lock, NULL);
	int r = auth_refresh_locked(a, err);
	if (r < 0) {
		carve_auth_free(a);
		return r;
	}
	*out = a;
	return 0;
}

int carve_auth_check(struct carve_auth *a, const char *authorization, enum carve_role *role,
		     struct carve_error *err)
{
	if (!authorization || !*authorization)
		return carve_error_set(err, -EPERM, "AUTHENTICATION_REQUIRED",
				       "this listener needs 'Authorization: Bearer <token>' (carve token-create)");
	if (strncasecmp(authorization, "Bearer ", 7) != 0)
		return carve_error_set(err, -EPERM, "AUTHENTICATION_FAILED", "only Bearer tokens are accepted");
	const char *tok = authorization + 7;
	while (*tok == ' ')
		tok++;
	pthread_mutex_lock(&a->lock);
	struct carve_error ignored = {0};
	auth_refresh_locked(a, &ignored);
	int r = carve_tokens_lookup(a->tokens, tok, role);
	pthread_mutex_unlock(&a->lock);
	if (r < 0)
		return carve_error_set(err, -EPERM, "AUTHENTICATION_FAILED", "unknown or revoked token");
	return 0;
}

/* remote.c - the remote server, its TLS checks and the token (remote.h). */
#include "remote.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/str.h"

#define MAX_CONFIG (64u << 10)

void carve_remote_clear(struct carve_remote *r)
{
	free(r->server);
	free(r->cacert);
	free(r->pin);
	free(r->token_source);
	explicit_bzero(r->token, sizeof(r->token));
	*r = (struct carve_remote){0};
}

/* "~/x" -> $HOME/x; anything else as it is. */
static char *expand(const char *path)
{
	const char *home = getenv("HOME");
	if (strncmp(path, "~/", 2) == 0 && home && *home)
		return carve_strdupf("%s/%s", home, path + 2);
	return strdup(path);
}

static char *config_path(void)
{
	const char *env = getenv("CARVE_CLIENT_CONFIG");
	if (env && *env)
		return strdup(env);
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	if (xdg && *xdg)
		return carve_strdupf("%s/carve/config", xdg);
	return home && *home ? carve_strdupf("%s/.config/carve/config", home) : NULL;
}

/* The section called name in the config file, into the settings the
 * command line left unset.  1 when found, 0 when not (or no file). */
static int read_section(const char *name, struct carve_remote_args *a, char **owned, char **path_out,
			struct carve_error *err)
{
	_cleanup_free_ char *path = config_path();
	if (!path)
		return 0;
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0
				       : carve_error_set(err, -errno, "CONFIG_INVALID", "cannot read %s: %s", path,
							 strerror(errno));
	char line[1024];
	unsigned no = 0;
	size_t total = 0;
	bool in = false, found = false;
	while (fgets(line, sizeof(line), f)) {
		no++;
		total += strlen(line);
		if (total > MAX_CONFIG || (!strchr(line, '\n') && !feof(f)))
			return carve_error_set(err, -EINVAL, "CONFIG_INVALID", "%s:%u: line or file too long", path, no);
		char *l = carve_strstrip(line);
		if (!*l || *l == '#' || *l == ';')
			continue;
		if (*l == '[') {
			char *end = strchr(l, ']');
			if (!end || end[1])
				return carve_error_set(err, -EINVAL, "CONFIG_INVALID", "%s:%u: a section is [name]", path, no);
			*end = '\0';
			in = strcmp(carve_strstrip(l + 1), name) == 0;
			found |= in;
			continue;
		}
		char *eq = strchr(l, '=');
		if (!eq)
			return carve_error_set(err, -EINVAL, "CONFIG_INVALID", "%s:%u: expected key = value", path, no);
		*eq = '\0';
		char *k = carve_strstrip(l), *v = carve_strstrip(eq + 1);
		static const char *const keys[] = {"server", "cacert", "pin", "token-file", "insecure"};
		int which = -1;
		for (int i = 0; i < 5; i++)
			if (strcmp(k, keys[i]) == 0)
				which = i;
		if (which < 0)
			return carve_error_set(err, -EINVAL, "CONFIG_INVALID",
					       "%s:%u: unknown key '%.64s' (server, cacert, pin, token-file, insecure)", path,
					       no, k);
		if (!in)
			continue;
		if (which == 4) {
			bool b;
			a->insecure |= carve_parse_bool(v, &b) == 0 && b;
			continue;
		}
		const char **slot[] = {&a->server, &a->cacert, &a->pin, &a->token_file};
		if (*slot[which])
			continue; /* the command line's */
		char *copy = which == 1 || which == 3 ? expand(v) : strdup(v);
		if (!copy)
			return -ENOMEM;
		free(owned[which]);
		owned[which] = copy;
		*slot[which] = copy;
	}
	if (found)
		*path_out = TAKE_PTR(path);
	return found;
}

/* The first line of a token file. */
static int read_token(const char *file, char *out, size_t len, struct carve_error *err)
{
	_cleanup_close_ int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return carve_error_set(err, -errno, "TOKEN_FILE_INVALID", "cannot read the token file %s: %s", file,
				       strerror(errno));
	if (!S_ISREG(st.st_mode))
		return carve_error_set(err, -EINVAL, "TOKEN_FILE_INVALID", "the token file %s is not a file", file);
	if (st.st_mode & 077)
		fprintf(stderr, "carve: warning: the token file %s can be read by others (chmod 600 it)\n", file);
	char buf[512];
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		return carve_error_set(err, -errno, "TOKEN_FILE_INVALID", "cannot read the token file %s: %s", file,
				       strerror(errno));
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	char *t = carve_strstrip(buf);
	if (!*t || strlen(t) >= len || strchr(t, ' ')) {
		explicit_bzero(buf, sizeof(buf));
		return carve_error_set(err, -EINVAL, "TOKEN_FILE_INVALID",
				       "the token file %s holds no token (its first line is the token)", file);
	}
	snprintf(out, len, "%s", t);
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

int carve_remote_resolve(const struct carve_remote_args *given, struct carve_remote *r, struct carve_error *err)
{
	*r = (struct carve_remote){0};
	struct carve_remote_args a = *given;
	if (!a.server) {
		const char *env = getenv("CARVE_SERVER");
		a.server = env && *env ? env : NULL;
	}
	if (!a.server)
		return 0;
	char *owned[4] = {NULL};
	_cleanup_free_ char *cfg = NULL;
	int found = 0, rc = 0;
	const char *name = a.server;
	if (!strstr(a.server, "://")) {
		a.server = NULL;
		if ((found = read_section(name, &a, owned, &cfg, err)) < 0) {
			rc = found;
			goto out;
		}
		if (!a.server) /* a host name */
			owned[0] = carve_strdupf("https://%s:" CARVE_REMOTE_DEFAULT_PORT, name), a.server = owned[0];
	}
	const char *env_token = getenv("CARVE_TOKEN"), *env_file = getenv("CARVE_TOKEN_FILE");
	if (given->token_file) {
		rc = read_token(given->token_file, r->token, sizeof(r->token), err);
		r->token_source = carve_strdupf("--token-file %s", given->token_file);
	} else if (env_token && *env_token) {
		snprintf(r->token, sizeof(r->token), "%s", env_token);
		r->token_source = strdup("$CARVE_TOKEN");
	} else if (env_file && *env_file) {
		rc = read_token(env_file, r->token, sizeof(r->token), err);
		r->token_source = carve_strdupf("$CARVE_TOKEN_FILE (%s)", env_file);
	} else if (found && a.token_file) {
		rc = read_token(a.token_file, r->token, sizeof(r->token), err);
		r->token_source = carve_strdupf("token-file %s of [%s] in %s", a.token_file, name, cfg);
	}
	if (rc < 0)
		goto out;
	r->server = a.server ? strdup(a.server) : NULL;
	r->cacert = a.cacert ? strdup(a.cacert) : NULL;
	r->pin = a.pin ? strdup(a.pin) : NULL;
	r->insecure = a.insecure;
	if (!r->server || (a.cacert && !r->cacert) || (a.pin && !r->pin) || (r->token[0] && !r->token_source))
		rc = -ENOMEM;
	else
		rc = 1;
out:
	for (int i = 0; i < 4; i++)
		free(owned[i]);
	if (rc < 0)
		carve_remote_clear(r);
	return rc;
}

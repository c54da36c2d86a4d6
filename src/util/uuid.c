#include "uuid.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <uuid/uuid.h>

bool carve_uuid_valid(const char *s)
{
	if (!s)
		return false;
	for (size_t i = 0; i < CARVE_UUID_STRLEN; i++) {
		char c = s[i];
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-')
				return false;
		} else if (!isxdigit((unsigned char)c)) {
			return false;
		}
	}
	return s[CARVE_UUID_STRLEN] == '\0';
}

void carve_uuid_generate(char out[CARVE_UUID_STRLEN + 1])
{
	uuid_t u;
	uuid_generate_random(u);
	uuid_unparse_lower(u, out);
}

int carve_uuid_normalize(const char *s, char out[CARVE_UUID_STRLEN + 1])
{
	if (!carve_uuid_valid(s))
		return -EINVAL;
	for (size_t i = 0; i <= CARVE_UUID_STRLEN; i++)
		out[i] = (char)tolower((unsigned char)s[i]);
	return 0;
}

void carve_uuid_from_name(const char *ns_uuid, const char *name, char out[CARVE_UUID_STRLEN + 1])
{
	uuid_t ns, u;
	if (uuid_parse(ns_uuid, ns) != 0)
		memset(ns, 0, sizeof(ns));
	uuid_generate_sha1(u, ns, name, strlen(name));
	uuid_unparse_lower(u, out);
}

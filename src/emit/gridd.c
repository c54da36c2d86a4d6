/* gridd.c - the guest's /etc/nvidia/gridd.conf (legacy licence server).
 *
 * nvidia-gridd in the guest reads key=value lines; a value with a newline
 * would let a caller add any key, so the server name is held to hostname or
 * IP address syntax and the numbers to their documented ranges.  FeatureType
 * values (NVIDIA's gridd.conf template): 0 unlicensed, 1 NVIDIA vGPU
 * (optional, detected from the vGPU type), 2 RTX Virtual Workstation,
 * 4 Virtual Compute Server; everything else is reserved.
 */
#include "internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "util/cleanup.h"

/* RFC 1123 host name: dot-separated labels of letters, digits and inner
 * hyphens, 1-63 characters each; one trailing dot (FQDN) tolerated. */
static bool hostname_valid(const char *s, size_t len)
{
	size_t label = 0;
	bool all_numeric = true;
	if (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0)
		return false;
	for (size_t i = 0; i <= len; i++) {
		char c = i < len ? s[i] : '.';
		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
		bool digit = c >= '0' && c <= '9';
		if (!alpha && !digit && c != '-')
			return false;
		if (c == '-' && label == 0)
			return false;
		if (!digit)
			all_numeric = false;
		if (++label > 63)
			return false;
	}
	/* "10.0.0.300" is a mistyped address, not a host name. */
	return !all_numeric;
}

static bool server_valid(const char *s)
{
	unsigned char addr[16];
	size_t len = strnlen(s, 254);
	if (len == 0 || len > 253)
		return false;
	return inet_pton(AF_INET, s, addr) == 1 || inet_pton(AF_INET6, s, addr) == 1 || hostname_valid(s, len);
}

int carve_emit_gridd_conf(const char *server, uint32_t port, uint32_t feature_type, char **out,
                          struct carve_error *err)
{
	if (!out)
		return carve_error_set(err, -EINVAL, "INVALID_ARGUMENT", "no output pointer for gridd.conf");
	*out = NULL;
	if (!server || !server_valid(server))
		return carve_error_set(err, -EINVAL, "INVALID_VALUE",
		                       "licence server must be a host name or an IP address of at most 253 characters");
	if (port == 0)
		port = CARVE_EMIT_GRIDD_DEFAULT_PORT;
	if (port > 65535)
		return carve_error_set(err, -EINVAL, "INVALID_VALUE", "licence server port %u is not a TCP port", port);
	if (feature_type != 0 && feature_type != 1 && feature_type != 2 && feature_type != 4)
		return carve_error_set(err, -EINVAL, "INVALID_VALUE",
		                       "FeatureType %u is reserved; use 0 (unlicensed), 1 (vGPU), 2 (RTX vWS) or 4 (vCS)",
		                       feature_type);

	static const char *const feature_names[] = {
		[0] = "unlicensed", [1] = "NVIDIA vGPU", [2] = "NVIDIA RTX Virtual Workstation",
		[4] = "NVIDIA Virtual Compute Server",
	};
	_cleanup_(emit_buf_free) struct emit_buf b = {0};
	emit_buf_add(&b, "# /etc/nvidia/gridd.conf - written by carve; read by nvidia-gridd in the guest.\n"
	                 "# Restart nvidia-gridd after changing it.\n");
	emit_buf_addf(&b, "ServerAddress=%s\n", server);
	emit_buf_addf(&b, "ServerPort=%u\n", port);
	emit_buf_addf(&b, "# %s\n", feature_names[feature_type]);
	emit_buf_addf(&b, "FeatureType=%u\n", feature_type);
	return emit_buf_finish(&b, out, err);
}

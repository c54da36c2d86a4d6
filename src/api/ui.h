/* ui.h - the pool page (src/api/ui/: index.html, ui.js, ui.css), built into
 * carved by scripts/embed-files.py so that it needs no files, CDN or network
 * at run time.  carved serves it at /ui/ without a token (server.c); the
 * page's own calls to /v1/ carry one.  Read-only data, any thread. */
#pragma once

#include <stddef.h>

struct carve_ui_file {
	const char *name; /* "index.html" */
	const char *type; /* Content-Type */
	const unsigned char *data;
	size_t len;
};

extern const struct carve_ui_file carve_ui_files[];
extern const size_t carve_ui_count;

/* The file of a path under /ui/ ("/ui/" is index.html), NULL for none. */
const struct carve_ui_file *carve_ui_find(const char *path);

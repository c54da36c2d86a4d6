/* ui.c - look up the pool page's built-in files (ui.h). */
#include "ui.h"

#include <string.h>

const struct carve_ui_file *carve_ui_find(const char *path)
{
	if (strncmp(path, "/ui/", 4) != 0)
		return NULL;
	const char *name = path[4] ? path + 4 : "index.html";
	for (size_t i = 0; i < carve_ui_count; i++)
		if (strcmp(carve_ui_files[i].name, name) == 0)
			return &carve_ui_files[i];
	return NULL;
}

/* catalog.c - lookups over the board and vGPU type tables that
 * scripts/csv2c.py generates from the CSV files in data/ (model/catalog_data.c).
 *
 * The tables are small (a few dozen boards, a few hundred types) and read
 * only, so plain linear scans are fast enough and need no locking or
 * initialisation; csv2c.py has already rejected duplicates, so the first
 * match is the only one.
 */
#include "catalog.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "model/catalog_data.h"

const struct carve_board *carve_board_by_ids(uint16_t vendor_id, uint16_t device_id)
{
	for (size_t i = 0; i < carve_catalog_nboards; i++)
		if (carve_catalog_boards[i].vendor_id == vendor_id && carve_catalog_boards[i].device_id == device_id)
			return &carve_catalog_boards[i];
	return NULL;
}

const struct carve_board *carve_board_by_vf_ids(uint16_t vendor_id, uint16_t vf_device_id)
{
	/* 0 means "no VF id" in the table: never let a caller match on it. */
	if (vf_device_id == 0)
		return NULL;
	for (size_t i = 0; i < carve_catalog_nboards; i++)
		if (carve_catalog_boards[i].vendor_id == vendor_id &&
		    carve_catalog_boards[i].vf_device_id == vf_device_id)
			return &carve_catalog_boards[i];
	return NULL;
}

const struct carve_board *carve_board_by_name(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < carve_catalog_nboards; i++)
		if (strcasecmp(carve_catalog_boards[i].name, name) == 0 ||
		    strcasecmp(carve_catalog_boards[i].short_name, name) == 0)
			return &carve_catalog_boards[i];
	return NULL;
}

size_t carve_board_count(void)
{
	return carve_catalog_nboards;
}

const struct carve_board *carve_board_at(size_t i)
{
	return i < carve_catalog_nboards ? &carve_catalog_boards[i] : NULL;
}

/* Index of a board by its short name (exact: the type tables use it as a key). */
static const struct carve_catalog_board_types *board_types(const char *board_short)
{
	if (!board_short)
		return NULL;
	for (size_t i = 0; i < carve_catalog_nboards; i++)
		if (strcmp(carve_catalog_boards[i].short_name, board_short) == 0)
			return &carve_catalog_board_types[i];
	return NULL;
}

size_t carve_catalog_types(const char *board_short, const struct carve_type_entry *const **out)
{
	const struct carve_catalog_board_types *bt = board_types(board_short);
	if (out)
		*out = bt ? bt->types : NULL;
	return bt ? bt->n : 0;
}

const struct carve_type_entry *carve_catalog_type(const char *board_short, const char *type_id)
{
	const struct carve_catalog_board_types *bt = board_types(board_short);
	if (!bt || !type_id)
		return NULL;
	for (size_t i = 0; i < bt->n; i++)
		if (strcmp(bt->types[i]->type_id, type_id) == 0)
			return bt->types[i];
	return NULL;
}

const struct carve_type_entry *carve_catalog_type_by_name(const char *name)
{
	if (!name)
		return NULL;
	/* Case-insensitive so "nvidia l40s-4q" typed at the CLI finds the type;
	 * csv2c.py guarantees names are unique ignoring case. */
	for (size_t i = 0; i < carve_catalog_ntypes; i++)
		if (strcasecmp(carve_catalog_type_table[i].name, name) == 0)
			return &carve_catalog_type_table[i];
	return NULL;
}

const char *carve_vendor_name(uint16_t vendor_id)
{
	/* The spelling of the PCI ID database (what lspci prints), which is also
	 * what XAPI reports as a PGPU's vendor_name. */
	static const struct {
		uint16_t id;
		const char *name;
	} vendors[] = {
		{0x10de, "NVIDIA Corporation"},
		{0x1002, "Advanced Micro Devices, Inc. [AMD/ATI]"},
		{0x8086, "Intel Corporation"},
		{0x102b, "Matrox Electronics Systems Ltd."},
		{0x1a03, "ASPEED Technology, Inc."},
	};
	for (size_t i = 0; i < sizeof(vendors) / sizeof(vendors[0]); i++)
		if (vendors[i].id == vendor_id)
			return vendors[i].name;
	return "Unknown";
}

int carve_mig_profile_of(const struct carve_type_entry *e, char *buf, size_t size)
{
	if (!e || e->mig_slices == 0)
		return -EINVAL;
	int n = snprintf(buf, size, "%ug.%ugb", (unsigned)e->mig_slices, (unsigned)(e->framebuffer_mib / 1024));
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

const struct carve_type_entry *carve_mig_type_by_profile(const struct carve_board *b, const char *name)
{
	const struct carve_type_entry *const *tab = NULL;
	size_t n = b ? carve_catalog_types(b->short_name, &tab) : 0;
	for (size_t i = 0; i < n; i++) {
		char p[32];
		if (carve_mig_profile_of(tab[i], p, sizeof(p)) == 0 && strcmp(p, name) == 0)
			return tab[i];
	}
	return NULL;
}

bool carve_board_has_mig(const struct carve_board *b)
{
	const struct carve_type_entry *const *tab = NULL;
	size_t n = b ? carve_catalog_types(b->short_name, &tab) : 0;
	for (size_t i = 0; i < n; i++)
		if (tab[i]->mig_slices > 0)
			return true;
	return false;
}

#include "snapshot.h"

#include <stdlib.h>
#include <string.h>

#include "host/inventory.h"
#include "util/cleanup.h"


void carve_snapshot_free(struct carve_snapshot *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_pgpus; i++) {
		for (size_t j = 0; j < s->pgpus[i].n_slots; j++)
			free((char *)s->pgpus[i].slots[j].problem);
		free(s->pgpus[i].slots);
		free(s->pgpus[i].used);
		free((char *)s->pgpus[i].problem);
	}
	free(s->pgpus);
	free(s->types);
	free(s);
}

const struct carve_place_type *carve_snapshot_type(const struct carve_snapshot *s, const char *uuid)
{
	for (size_t i = 0; i < s->n_types; i++)
		if (strcmp(s->types[i].uuid, uuid) == 0)
			return &s->types[i];
	return NULL;
}

static struct carve_place_pgpu *find_pgpu(struct carve_snapshot *s, const char *uuid)
{
	for (size_t i = 0; i < s->n_pgpus; i++)
		if (strcmp(s->pgpus[i].uuid, uuid) == 0)
			return &s->pgpus[i];
	return NULL;
}

#define COPY(dst, src) snprintf((dst), sizeof(dst), "%s", (src) ? (src) : "")

/* Every query names the group's PGPUs as p; host filters them to one host's
 * (COALESCE: a NULL host means all, in SQL both engines accept). */
#define ON_HOST " AND p.host_uuid = COALESCE($2, p.host_uuid)"

int carve_snapshot_load(struct carve_ctx *ctx, const char *group_uuid, struct carve_snapshot **out,
			struct carve_error *err)
{
	return carve_snapshot_load_host(ctx, group_uuid, NULL, out, err);
}

int carve_snapshot_load_host(struct carve_ctx *ctx, const char *group_uuid, const char *host_uuid,
			     struct carve_snapshot **out, struct carve_error *err)
{
	_cleanup_rows_ struct carve_rows *types = NULL, *pgpus = NULL, *slots = NULL, *used = NULL;
	int r;
	if ((r = carve_db_execf(ctx->db, &types, err,
				"SELECT DISTINCT t.uuid, t.size, t.implementation, t.board, t.series, t.max_instances "
				"FROM vgpu_type t JOIN pgpu_type pt ON pt.vgpu_type_uuid = t.uuid JOIN pgpu p ON "
				"p.uuid = pt.pgpu_uuid WHERE p.gpu_group_uuid=$1" ON_HOST " ORDER BY t.uuid",
				2, group_uuid, host_uuid)) < 0 ||
	    (r = carve_db_execf(ctx->db, &pgpus, err,
				"SELECT uuid, pci_id, numa_node, mixed_size, present, size, broken, discovery_problems "
				"FROM pgpu p WHERE "
				"gpu_group_uuid=$1" ON_HOST " ORDER BY pci_id, host_uuid",
				2, group_uuid, host_uuid)) < 0 ||
	    (r = carve_db_execf(ctx->db, &slots, err,
				"SELECT pt.pgpu_uuid, pt.vgpu_type_uuid, pt.enabled, pt.available, "
				"CASE WHEN p.sriov_totalvfs = 0 OR p.sriov_numvfs > 0 THEN 1 ELSE 0 END AS host_limited, "
				"pt.problem, pt.max_instances_source "
				"FROM pgpu_type pt JOIN pgpu p ON "
				"p.uuid = pt.pgpu_uuid WHERE p.gpu_group_uuid=$1" ON_HOST " AND pt.supported=1 "
				"ORDER BY pt.pgpu_uuid, pt.vgpu_type_uuid",
				2, group_uuid, host_uuid)) < 0 ||
	    (r = carve_db_execf(ctx->db, &used, err,
				"SELECT COALESCE(v.resident_on, v.scheduled_pgpu) AS p, v.vgpu_type_uuid, "
				"CASE WHEN v.resident_on IS NULL THEN 1 ELSE 0 END AS pending FROM vgpu v "
				"JOIN pgpu p ON p.uuid = COALESCE(v.resident_on, v.scheduled_pgpu) WHERE "
				"p.gpu_group_uuid=$1" ON_HOST,
				2, group_uuid, host_uuid)) < 0)
		return r;

	struct carve_snapshot *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->types = calloc(types->nrows + 1, sizeof(*s->types));
	s->pgpus = calloc(pgpus->nrows + 1, sizeof(*s->pgpus));
	if (!s->types || !s->pgpus)
		goto nomem;
	for (size_t i = 0; i < types->nrows; i++) {
		struct carve_place_type *t = &s->types[s->n_types++];
		COPY(t->uuid, carve_rows_cell(types, i, 0));
		t->size = atoll(carve_rows_cell(types, i, 1));
		COPY(t->implementation, carve_rows_cell(types, i, 2));
		t->passthrough = strcmp(t->implementation, "passthrough") == 0;
		COPY(t->board, carve_rows_cell(types, i, 3));
		COPY(t->series, carve_rows_cell(types, i, 4));
		t->max_instances = (uint32_t)atoll(carve_rows_cell(types, i, 5));
	}
	for (size_t i = 0; i < pgpus->nrows; i++) {
		struct carve_place_pgpu *p = &s->pgpus[s->n_pgpus++];
		COPY(p->uuid, carve_rows_cell(pgpus, i, 0));
		COPY(p->pci, carve_rows_cell(pgpus, i, 1));
		p->numa_node = atoi(carve_rows_cell(pgpus, i, 2));
		p->mixed_size = atoi(carve_rows_cell(pgpus, i, 3)) != 0;
		p->present = atoi(carve_rows_cell(pgpus, i, 4)) != 0;
		p->size = atoll(carve_rows_cell(pgpus, i, 5));
		if (atoi(carve_rows_cell(pgpus, i, 6)) != 0) { /* broken: its first problem is its own */
			const char *problems = carve_rows_cell(pgpus, i, 7);
			if (!problems || !*problems)
				problems = "SYSFS_READ_FAILED: unreadable";
			if (!(p->problem = strndup(problems, strcspn(problems, "\n"))))
				goto nomem;
		}
		p->slots = calloc(slots->nrows + 1, sizeof(*p->slots));
		p->used = calloc(used->nrows + 1, sizeof(*p->used));
		if (!p->slots || !p->used)
			goto nomem;
	}
	for (size_t i = 0; i < slots->nrows; i++) {
		struct carve_place_pgpu *p = find_pgpu(s, carve_rows_cell(slots, i, 0));
		const struct carve_place_type *t = carve_snapshot_type(s, carve_rows_cell(slots, i, 1));
		if (!p || !t)
			continue;
		struct carve_place_slot *sl = &p->slots[p->n_slots++];
		sl->type = t;
		sl->enabled = atoi(carve_rows_cell(slots, i, 2)) != 0;
		sl->host_available = atoll(carve_rows_cell(slots, i, 3));
		sl->host_limited = atoi(carve_rows_cell(slots, i, 4)) != 0;
		const char *problem = carve_rows_cell(slots, i, 5);
		if (problem && *problem && !(sl->problem = strdup(problem)))
			goto nomem;
		sl->budget_source = carve_hw_source_name(carve_hw_source_from_name(carve_rows_cell(slots, i, 6)));
	}
	for (size_t i = 0; i < used->nrows; i++) {
		struct carve_place_pgpu *p = find_pgpu(s, carve_rows_cell(used, i, 0));
		const struct carve_place_type *t = carve_snapshot_type(s, carve_rows_cell(used, i, 1));
		if (!p || !t)
			continue;
		p->used[p->n_used++] = t;
		if (atoi(carve_rows_cell(used, i, 2)) == 0)
			continue;
		for (size_t j = 0; j < p->n_slots; j++)
			if (p->slots[j].type == t)
				p->slots[j].pending++;
	}
	*out = s;
	return 0;
nomem:
	carve_snapshot_free(s);
	return carve_error_set(err, -ENOMEM, "OUT_OF_MEMORY", "out of memory");
}

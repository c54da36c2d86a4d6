/* repo.c - the store's queries (see repo.h).  Portable SQL: $N
 * placeholders, text parameters, statements both SQLite and PostgreSQL
 * accept. */
#include "repo.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXEC(db, err, ...) carve_db_execf((db), NULL, (err), __VA_ARGS__)
/* The hot path's writes of a VM's state and its counts: sent with the next
 * statement (repo.h). */
#define LATER(db, err, ...) carve_db_execf_later((db), (err), __VA_ARGS__)

static const char *const tables[] = {
	[CARVE_REPO_HOST] = "host", [CARVE_REPO_GROUP] = "gpu_group", [CARVE_REPO_TYPE] = "vgpu_type",
	[CARVE_REPO_PGPU] = "pgpu", [CARVE_REPO_PGPU_TYPE] = "pgpu_type", [CARVE_REPO_VM] = "vm",
	[CARVE_REPO_VGPU] = "vgpu",
};

static const char *const key_cols[] = {
	[CARVE_REPO_HOST] = "uuid", [CARVE_REPO_GROUP] = "uuid", [CARVE_REPO_TYPE] = "uuid",
	[CARVE_REPO_PGPU] = "uuid", [CARVE_REPO_PGPU_TYPE] = "pgpu_uuid", [CARVE_REPO_VM] = "uuid",
	[CARVE_REPO_VGPU] = "vm_uuid",
};

void carve_repo_select_stmt(struct carve_db *db, enum carve_repo_table t, const char **key, char sql[256],
			    struct carve_rows **out, struct carve_db_stmt *st)
{
	/* A host's heartbeat is read as its age on the server's clock. */
	char cols[128] = "*";
	if (t == CARVE_REPO_HOST)
		snprintf(cols, sizeof(cols), "*, %s - heartbeat_ms AS heartbeat_age_ms", carve_db_now_ms_sql(db));
	if (*key)
		snprintf(sql, 256, "SELECT %s FROM %s WHERE %s=$1", cols, tables[t], key_cols[t]);
	else
		snprintf(sql, 256, "SELECT %s FROM %s", cols, tables[t]);
	*st = (struct carve_db_stmt){.sql = sql, .params = key, .nparams = *key ? 1 : 0, .out = out};
}

int carve_repo_select(struct carve_db *db, enum carve_repo_table t, const char *key, struct carve_rows **out,
		      struct carve_error *err)
{
	char sql[256];
	struct carve_db_stmt st;
	carve_repo_select_stmt(db, t, &key, sql, out, &st);
	return carve_db_exec_all(db, &st, 1, err);
}

int carve_repo_select_host_pgpus(struct carve_db *db, const char *host_uuid, struct carve_rows **pgpus,
				 struct carve_rows **slots, struct carve_error *err)
{
	int r = carve_db_execf(db, pgpus, err, "SELECT * FROM pgpu WHERE host_uuid=$1", 1, host_uuid);
	if (r < 0)
		return r;
	return carve_db_execf(db, slots, err,
			      "SELECT pt.* FROM pgpu_type pt JOIN pgpu p ON p.uuid = pt.pgpu_uuid WHERE p.host_uuid=$1", 1,
			      host_uuid);
}

int carve_repo_generation(struct carve_db *db, uint64_t *out, struct carve_error *err)
{
	_cleanup_rows_ struct carve_rows *rows = NULL;
	int r = carve_db_execf(db, &rows, err, "SELECT n FROM store_generation", 0);
	if (r < 0)
		return r;
	*out = rows->nrows && carve_rows_cell(rows, 0, 0) ? strtoull(carve_rows_cell(rows, 0, 0), NULL, 10) : 0;
	return 0;
}

/* ---- VMs ---- */

int carve_repo_vm_insert(struct carve_db *db, const char *uuid, const char *label, const char *desc, int32_t numa,
			 struct carve_rows **row, struct carve_error *err)
{
	char n[16];
	snprintf(n, sizeof(n), "%d", numa);
	return carve_db_execf(db, row, err,
			      "INSERT INTO vm (uuid, name_label, name_description, numa_node) VALUES ($1,$2,$3,$4) "
			      "RETURNING *",
			      4, uuid, label, desc ? desc : "", n);
}

int carve_repo_vm_update(struct carve_db *db, const char *uuid, const char *label, const char *desc,
			 const int32_t *numa, const char *p2p, struct carve_error *err)
{
	char n[16];
	if (numa)
		snprintf(n, sizeof(n), "%d", *numa);
	return EXEC(db, err,
		    "UPDATE vm SET name_label=COALESCE($2, name_label), name_description=COALESCE($3, name_description), "
		    "numa_node=COALESCE($4, numa_node), p2p=COALESCE($5, p2p) WHERE uuid=$1",
		    5, uuid, label, desc, numa ? n : NULL, p2p);
}

int carve_repo_vm_reread_delete(struct carve_db *db, const char *uuid, struct carve_rows **vm,
				struct carve_rows **vgpus, struct carve_error *err)
{
	const char *p[] = {uuid};
	char sql[2][256];
	struct carve_db_stmt st[4];
	carve_repo_select_stmt(db, CARVE_REPO_VM, p, sql[0], vm, &st[0]);
	carve_repo_select_stmt(db, CARVE_REPO_VGPU, p, sql[1], vgpus, &st[1]);
	st[2] = (struct carve_db_stmt){.sql = "DELETE FROM vgpu WHERE vm_uuid=$1", .params = p, .nparams = 1};
	st[3] = (struct carve_db_stmt){.sql = "DELETE FROM vm WHERE uuid=$1", .params = p, .nparams = 1};
	return carve_db_exec_all(db, st, 4, err);
}

int carve_repo_vm_set_power(struct carve_db *db, const char *uuid, enum carve_power_state s, const char *host,
			    struct carve_error *err)
{
	return carve_repo_vms_set_power(db, 1, &uuid, s, host, err);
}

int carve_repo_vm_lock(struct carve_db *db, const char *uuid, bool *found, struct carve_error *err)
{
	_cleanup_rows_ struct carve_rows *rows = NULL;
	char sql[96];
	snprintf(sql, sizeof(sql), "SELECT uuid FROM vm WHERE uuid=$1%s", carve_db_for_update(db));
	int r = carve_db_execf(db, &rows, err, sql, 1, uuid);
	if (r >= 0)
		*found = rows->nrows == 1;
	return r;
}

int carve_repo_vm_set_between(struct carve_db *db, const char *uuid, enum carve_power_state s, const char *host,
			      const char *claim, struct carve_error *err)
{
	return carve_repo_vms_set_between(db, 1, &uuid, s, &host, &claim, err);
}

/* Work another host's agent left to host: a start or shutdown of a VM
 * placed there (carve_power_state_between), or a migration's phase that
 * host acts in (preparing, releasing, aborting; not the waiting none and
 * prepared).  host and the five states are placeholders; PENDING_STATES
 * gives the states' values in that order. */
#define PENDING_FOR(host, p1, p2, m1, m2, m3)                                                                  \
	"claimed_by IS NULL AND ((resident_on=" host " AND power_state IN (" p1 ", " p2 ")) OR "               \
	"(migration_peer=" host " AND migration IN (" m1 ", " m2 ", " m3 ")))"
#define PENDING_STATES                                                                                         \
	carve_power_state_name(CARVE_POWER_STARTING), carve_power_state_name(CARVE_POWER_STOPPING),           \
		carve_migration_name(CARVE_MIGRATION_PREPARING), carve_migration_name(CARVE_MIGRATION_RELEASING), \
		carve_migration_name(CARVE_MIGRATION_ABORTING)

int carve_repo_vm_claim(struct carve_db *db, const char *uuid, const char *host, bool *claimed,
			struct carve_error *err)
{
	_cleanup_rows_ struct carve_rows *rows = NULL;
	int r = carve_db_execf(db, &rows, err,
			       "UPDATE vm SET claimed_by=$2 WHERE uuid=$1 AND " PENDING_FOR("$2", "$3", "$4", "$5", "$6", "$7")
			       " RETURNING uuid",
			       7, uuid, host, PENDING_STATES);
	if (r >= 0)
		*claimed = rows->nrows == 1;
	return r;
}

int carve_repo_vm_claim_starts(struct carve_db *db, const char *host, size_t max, struct carve_rows **out,
			       struct carve_error *err)
{
	char n[24];
	snprintf(n, sizeof(n), "%zu", max);
	/* the outer condition is checked again on the row as it is when
	 * locked: a start taken up meanwhile is not taken twice */
	return carve_db_execf(db, out, err,
			      "UPDATE vm SET claimed_by=$1 WHERE uuid IN (SELECT uuid FROM vm WHERE claimed_by IS NULL AND "
			      "resident_on=$1 AND power_state=$3 AND migration=$4 ORDER BY uuid LIMIT $2) AND "
			      "claimed_by IS NULL AND resident_on=$1 AND power_state=$3 AND migration=$4 RETURNING uuid",
			      4, host, n, carve_power_state_name(CARVE_POWER_STARTING),
			      carve_migration_name(CARVE_MIGRATION_NONE));
}

int carve_repo_vm_set_error(struct carve_db *db, const char *uuid, const char *error, struct carve_error *err)
{
	return LATER(db, err, "UPDATE vm SET last_error=$2 WHERE uuid=$1", 2, uuid, error ? error : "");
}

int carve_repo_vm_pending(struct carve_db *db, const char *host, struct carve_rows **out, struct carve_error *err)
{
	return carve_db_execf(db, out, err,
			      "SELECT uuid FROM vm WHERE " PENDING_FOR("$1", "$2", "$3", "$4", "$5", "$6") " ORDER BY uuid", 6,
			      host, PENDING_STATES);
}

int carve_repo_vm_status(struct carve_db *db, const char *uuid, struct carve_rows **out, struct carve_error *err)
{
	return carve_db_execf(db, out, err, "SELECT power_state, claimed_by, last_error, migration FROM vm WHERE uuid=$1", 1, uuid);
}

int carve_repo_vm_set_migration(struct carve_db *db, const char *uuid, enum carve_migration m, const char *peer,
				const char *claim, struct carve_error *err)
{
	return LATER(db, err, "UPDATE vm SET migration=$2, migration_peer=$3, claimed_by=$4 WHERE uuid=$1", 4, uuid,
		    carve_migration_name(m), m == CARVE_MIGRATION_NONE ? NULL : peer, claim);
}

int carve_repo_vm_migration_switch(struct carve_db *db, const char *uuid, const char *dest, const char *source,
				   const char *claim, struct carve_error *err)
{
	/* Both sides of each SET read the row as it was: the columns swap. */
	int r = EXEC(db, err,
		     "UPDATE vgpu SET resident_on=scheduled_pgpu, scheduled_pgpu=resident_on, "
		     "device_pci=peer_device_pci, peer_device_pci=device_pci WHERE vm_uuid=$1",
		     1, uuid);
	if (r >= 0)
		r = EXEC(db, err, "UPDATE vm SET resident_on=$2 WHERE uuid=$1", 2, uuid, dest);
	return r < 0 ? r : carve_repo_vm_set_migration(db, uuid, CARVE_MIGRATION_RELEASING, source, claim, err);
}

int carve_repo_vm_migration_clear(struct carve_db *db, const char *uuid, struct carve_error *err)
{
	int r = EXEC(db, err, "UPDATE vgpu SET scheduled_pgpu=NULL, peer_device_pci='' WHERE vm_uuid=$1", 1, uuid);
	return r < 0 ? r : carve_repo_vm_set_migration(db, uuid, CARVE_MIGRATION_NONE, NULL, NULL, err);
}

int carve_repo_vgpu_schedule_peer(struct carve_db *db, const char *uuid, const char *pgpu, const char *device_pci,
				  struct carve_error *err)
{
	return LATER(db, err, "UPDATE vgpu SET scheduled_pgpu=$2, peer_device_pci=$3 WHERE uuid=$1", 3, uuid, pgpu,
		    device_pci ? device_pci : "");
}

int carve_repo_host_migrations(struct carve_db *db, const char *host, struct carve_rows **out, struct carve_error *err)
{
	return carve_db_execf(db, out, err, "SELECT uuid FROM vm WHERE migration_peer=$1 ORDER BY uuid", 1, host);
}

int carve_repo_host_vms(struct carve_db *db, const char *host, struct carve_rows **out, struct carve_error *err)
{
	return carve_db_execf(db, out, err, "SELECT uuid FROM vm WHERE resident_on=$1 ORDER BY uuid", 1, host);
}

/* ---- vGPUs ---- */

int carve_repo_vgpu_insert(struct carve_db *db, const struct carve_repo_vgpu *v, struct carve_error *err)
{
	char dev[16];
	snprintf(dev, sizeof(dev), "%u", v->device);
	return EXEC(db, err,
		    "INSERT INTO vgpu (uuid, vm_uuid, vgpu_type_uuid, gpu_group_uuid, device, extra_args, state, origin, "
		    "resident_on, device_pci) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)",
		    10, v->uuid, v->vm, v->type, v->group, dev, v->extra_args ? v->extra_args : "",
		    carve_vgpu_state_name(v->state), carve_vgpu_origin_name(v->origin), v->resident_on,
		    v->device_pci ? v->device_pci : "");
}

int carve_repo_vgpu_delete(struct carve_db *db, const char *uuid, struct carve_error *err)
{
	return EXEC(db, err, "DELETE FROM vgpu WHERE uuid=$1", 1, uuid);
}

int carve_repo_vgpu_set_extra_args(struct carve_db *db, const char *uuid, const char *extra, struct carve_error *err)
{
	return EXEC(db, err, "UPDATE vgpu SET extra_args=$2 WHERE uuid=$1", 2, uuid, extra);
}

int carve_repo_pgpu_lock_vms(struct carve_db *db, const char *pgpu, struct carve_rows **out, struct carve_error *err)
{
	char sql[96];
	snprintf(sql, sizeof(sql), "SELECT uuid FROM pgpu WHERE uuid=$1%s", carve_db_for_update(db));
	const char *params[] = {pgpu};
	const struct carve_db_stmt st[] = {
		{.sql = sql, .params = params, .nparams = 1},
		{.sql = "SELECT uuid, vm_uuid FROM vgpu WHERE resident_on=$1 OR scheduled_pgpu=$1 ORDER BY uuid",
		 .params = params, .nparams = 1, .out = out},
	};
	return carve_db_exec_all(db, st, 2, err);
}

int carve_repo_vgpu_reserve(struct carve_db *db, const char *uuid, const char *pgpu, const char *device_pci,
			    struct carve_error *err)
{
	if (!device_pci)
		device_pci = "";
	return carve_repo_vgpus_reserve(db, 1, &uuid, &pgpu, &device_pci, err);
}

/* ---- set-oriented writes of a batch ---- */

/* One SQL text per power-of-two number of rows, built on first use and
 * kept for the process (carve_db_exec_later keeps the pointer; the
 * prepared-statement cache keys on it): head, the rows of cols
 * placeholders each - "($1, $2), ($3, $4)", or "$1, $2" for one column
 * unparenthesized (an IN list) - and tail.  The rows are padded to the
 * bucket with empty strings, which match no UUID. */
#define SET_BUCKETS 11 /* 1 .. 1024 rows */

struct set_sql {
	const char *head, *tail;
	size_t cols; /* parameters a row (after `fixed` leading ones) */
	bool paren;
	size_t fixed; /* parameters before the rows' ($1 .. $fixed) */
	char *text[SET_BUCKETS];
};

static pthread_mutex_t set_sql_lock = PTHREAD_MUTEX_INITIALIZER;

static size_t bucket_of(size_t n, size_t *rows)
{
	size_t b = 0;
	for (*rows = 1; *rows < n; *rows *= 2)
		b++;
	return b;
}

static const char *set_sql_text(struct set_sql *q, size_t b, size_t rows)
{
	pthread_mutex_lock(&set_sql_lock);
	if (!q->text[b]) {
		size_t cap = strlen(q->head) + strlen(q->tail) + rows * q->cols * 10 + rows * 4 + 1;
		char *t = malloc(cap);
		if (t) {
			size_t off = (size_t)snprintf(t, cap, "%s", q->head);
			for (size_t r = 0, k = q->fixed + 1; r < rows; r++) {
				off += (size_t)snprintf(t + off, cap - off, "%s%s", r ? ", " : "", q->paren ? "(" : "");
				for (size_t c = 0; c < q->cols; c++)
					off += (size_t)snprintf(t + off, cap - off, "%s$%zu", c ? ", " : "", k++);
				off += (size_t)snprintf(t + off, cap - off, "%s", q->paren ? ")" : "");
			}
			snprintf(t + off, cap - off, "%s", q->tail);
		}
		q->text[b] = t;
	}
	pthread_mutex_unlock(&set_sql_lock);
	return q->text[b];
}

/* Queue q for n rows: fixed leading parameters, then column c of row r at
 * cols[c][r], the rows padded to q's bucket. */
static int set_later(struct carve_db *db, struct set_sql *q, const char *const *fixed, size_t n,
		     const char *const *const *cols, struct carve_error *err)
{
	if (n == 0)
		return 0;
	if (n > CARVE_REPO_SET_MAX)
		return carve_error_set(err, -E2BIG, "INTERNAL_ERROR", "too many rows in one statement");
	size_t rows, b = bucket_of(n, &rows), np = q->fixed + rows * q->cols;
	const char *sql = set_sql_text(q, b, rows);
	_cleanup_free_ const char **params = malloc(np * sizeof(*params));
	if (!sql || !params)
		return carve_error_set(err, -ENOMEM, "OUT_OF_MEMORY", "out of memory");
	for (size_t i = 0; i < q->fixed; i++)
		params[i] = fixed[i];
	for (size_t r = 0; r < rows; r++)
		for (size_t c = 0; c < q->cols; c++)
			params[q->fixed + r * q->cols + c] = r < n ? cols[c][r] : "";
	return carve_db_exec_later(db, sql, params, np, err);
}

int carve_repo_vgpus_reserve(struct carve_db *db, size_t n, const char *const *uuid, const char *const *pgpu,
			     const char *const *device_pci, struct carve_error *err)
{
	static struct set_sql q = {
		.head = "UPDATE vgpu SET scheduled_pgpu=v.column2, device_pci=v.column3, state=$1 FROM (VALUES ",
		.tail = ") AS v WHERE vgpu.uuid=v.column1", .cols = 3, .paren = true, .fixed = 1};
	const char *fixed[] = {carve_vgpu_state_name(CARVE_VGPU_RESERVED)};
	const char *const *cols[] = {uuid, pgpu, device_pci};
	return set_later(db, &q, fixed, n, cols, err);
}

int carve_repo_vms_set_between(struct carve_db *db, size_t n, const char *const *uuid, enum carve_power_state s,
			       const char *const *host, const char *const *claim, struct carve_error *err)
{
	static struct set_sql q = {
		.head = "UPDATE vm SET power_state=$1, resident_on=v.column2, claimed_by=v.column3, last_error='' "
			"FROM (VALUES ",
		.tail = ") AS v WHERE vm.uuid=v.column1", .cols = 3, .paren = true, .fixed = 1};
	const char *fixed[] = {carve_power_state_name(s)};
	const char *const *cols[] = {uuid, host, claim};
	return set_later(db, &q, fixed, n, cols, err);
}

int carve_repo_vgpus_confirm(struct carve_db *db, size_t n, const char *const *uuid, const char *const *device_pci,
			     struct carve_error *err)
{
	static struct set_sql q = {
		.head = "UPDATE vgpu SET resident_on=scheduled_pgpu, scheduled_pgpu=NULL, device_pci=v.column2, "
			"state=$1 FROM (VALUES ",
		.tail = ") AS v WHERE vgpu.uuid=v.column1", .cols = 2, .paren = true, .fixed = 1};
	const char *fixed[] = {carve_vgpu_state_name(CARVE_VGPU_RUNNING)};
	const char *const *cols[] = {uuid, device_pci};
	return set_later(db, &q, fixed, n, cols, err);
}

int carve_repo_vms_set_power(struct carve_db *db, size_t n, const char *const *uuid, enum carve_power_state s,
			     const char *host, struct carve_error *err)
{
	/* A settled VM is no one's work any more (carve_repo_vm_set_power);
	 * one between states stays its agent's. */
	static struct set_sql q[2] = {
		{.head = "UPDATE vm SET power_state=$1, resident_on=$2, claimed_by=NULL WHERE uuid IN (",
		 .tail = ")", .cols = 1, .fixed = 2},
		{.head = "UPDATE vm SET power_state=$1, resident_on=$2 WHERE uuid IN (", .tail = ")", .cols = 1, .fixed = 2}};
	const char *fixed[] = {carve_power_state_name(s), host};
	const char *const *cols[] = {uuid};
	return set_later(db, &q[carve_power_state_between(s) ? 1 : 0], fixed, n, cols, err);
}

int carve_repo_vgpu_set_device_pci(struct carve_db *db, const char *uuid, const char *device_pci,
				   struct carve_error *err)
{
	return EXEC(db, err, "UPDATE vgpu SET device_pci=$2 WHERE uuid=$1", 2, uuid, device_pci ? device_pci : "");
}

int carve_repo_vm_vgpus_release(struct carve_db *db, const char *vm, struct carve_error *err)
{
	return LATER(db, err,
		    "UPDATE vgpu SET scheduled_pgpu=NULL, resident_on=NULL, device_pci='', peer_device_pci='', state=$2 "
		    "WHERE vm_uuid=$1",
		    2, vm, carve_vgpu_state_name(CARVE_VGPU_DEFINED));
}

int carve_repo_vm_vgpus_set_state(struct carve_db *db, const char *vm, enum carve_vgpu_state s,
				  struct carve_error *err)
{
	return EXEC(db, err, "UPDATE vgpu SET state=$2 WHERE vm_uuid=$1", 2, vm, carve_vgpu_state_name(s));
}

/* ---- GPU groups and PGPU settings ---- */

int carve_repo_group_insert(struct carve_db *db, const char *uuid, const char *label, const char *desc,
			    enum carve_place_algo algo, struct carve_error *err)
{
	return EXEC(db, err,
		    "INSERT INTO gpu_group (uuid, name_label, name_description, allocation_algorithm) VALUES ($1,$2,$3,$4)",
		    4, uuid, label, desc ? desc : "", carve_place_algo_name(algo));
}

int carve_repo_group_update(struct carve_db *db, const char *uuid, const char *label, const char *desc, int algo,
			    const char *degraded, struct carve_error *err)
{
	return EXEC(db, err,
		    "UPDATE gpu_group SET name_label=COALESCE($2, name_label), "
		    "name_description=COALESCE($3, name_description), "
		    "allocation_algorithm=COALESCE($4, allocation_algorithm), degraded_pgpus=COALESCE($5, degraded_pgpus) "
		    "WHERE uuid=$1",
		    5, uuid, label, desc, algo < 0 ? NULL : carve_place_algo_name((enum carve_place_algo)algo), degraded);
}

int carve_repo_group_delete(struct carve_db *db, const char *uuid, struct carve_error *err)
{
	return EXEC(db, err, "DELETE FROM gpu_group WHERE uuid=$1", 1, uuid);
}

int carve_repo_pgpu_set_group(struct carve_db *db, const char *pgpu, const char *group, struct carve_error *err)
{
	return EXEC(db, err, "UPDATE pgpu SET gpu_group_uuid=$2 WHERE uuid=$1", 2, pgpu, group);
}

int carve_repo_pgpu_type_set_available(struct carve_db *db, const char *pgpu, const char *type, int64_t available,
				       struct carve_error *err)
{
	char n[24];
	snprintf(n, sizeof(n), "%" PRId64, available);
	return LATER(db, err, "UPDATE pgpu_type SET available=$3 WHERE pgpu_uuid=$1 AND vgpu_type_uuid=$2", 3, pgpu,
		    type, n);
}

int carve_repo_pgpu_type_set_enabled(struct carve_db *db, const char *pgpu, const char *type, bool on,
				     struct carve_error *err)
{
	return EXEC(db, err, "UPDATE pgpu_type SET enabled=$3 WHERE pgpu_uuid=$1 AND vgpu_type_uuid=$2", 3, pgpu, type,
		    on ? "1" : "0");
}

/* ---- folding an inventory in ---- */

int carve_repo_host_upsert(struct carve_db *db, const char *uuid, const char *name, const char *backend,
			   const char *driver_version, const char *problems, struct carve_error *err)
{
	return EXEC(db, err,
		    "INSERT INTO host (uuid, name_label, hostname, backend, last_discovery, discovery_problems, "
		    "driver_version) VALUES ($1, $2, $2, $3, CURRENT_TIMESTAMP, $4, $5) ON CONFLICT (uuid) DO UPDATE "
		    "SET backend=$3, last_discovery=CURRENT_TIMESTAMP, discovery_problems=$4, driver_version=$5",
		    5, uuid, name, backend ? backend : "", problems ? problems : "", driver_version ? driver_version : "");
}

int carve_repo_host_set_inventory_hash(struct carve_db *db, const char *uuid, const char *hash,
				       struct carve_error *err)
{
	return EXEC(db, err, "UPDATE host SET inventory_hash=$2 WHERE uuid=$1", 2, uuid, hash);
}

int carve_repo_host_pgpus_absent(struct carve_db *db, const char *host, struct carve_error *err)
{
	return EXEC(db, err, "UPDATE pgpu SET present=0 WHERE host_uuid=$1", 1, host);
}

int carve_repo_host_set_config(struct carve_db *db, const char *host, const char *config, struct carve_error *err)
{
	return EXEC(db, err, "UPDATE host SET config=$2 WHERE uuid=$1", 2, host, config);
}

int carve_repo_pgpu_set_vgpu_params(struct carve_db *db, const char *pgpu, const char *params, struct carve_error *err)
{
	return EXEC(db, err, "UPDATE pgpu SET vgpu_params=$2 WHERE uuid=$1", 2, pgpu, params);
}

int carve_repo_pgpu_set_absent(struct carve_db *db, const char *pgpu, struct carve_error *err)
{
	return EXEC(db, err, "UPDATE pgpu SET present=0 WHERE uuid=$1", 1, pgpu);
}

int carve_repo_group_ensure_auto(struct carve_db *db, const char *uuid, const char *label, const char *key,
				 struct carve_error *err)
{
	return EXEC(db, err,
		    "INSERT INTO gpu_group (uuid, name_label, gpu_types, auto_key) VALUES ($1, $2, $3, $3) "
		    "ON CONFLICT (uuid) DO NOTHING",
		    3, uuid, label, key);
}

int carve_repo_pgpu_upsert(struct carve_db *db, const struct carve_repo_pgpu *p, struct carve_error *err)
{
	char numa[16], iommu[16], tvf[16], nvf[16], size[32];
	snprintf(numa, sizeof(numa), "%d", p->numa_node);
	snprintf(iommu, sizeof(iommu), "%d", p->iommu_group);
	snprintf(tvf, sizeof(tvf), "%u", p->sriov_totalvfs);
	snprintf(nvf, sizeof(nvf), "%u", p->sriov_numvfs);
	snprintf(size, sizeof(size), "%lld", (long long)p->size);
	/* gpu_group_uuid is only set when the PGPU has none: a user's move stands. */
	return EXEC(db, err,
		    "INSERT INTO pgpu (uuid, host_uuid, pci_id, vendor_id, device_id, subsystem_vendor_id, "
		    "subsystem_device_id, vendor_name, device_name, board, driver, numa_node, iommu_group, "
		    "is_system_display_device, implementation, mixed_size, sriov_totalvfs, sriov_numvfs, size, "
		    "gpu_group_uuid, present, discovery_problems, broken, mixed_size_source, mixed_size_supported, "
		    "mig_mode, mig_instances, nvlink, ecc, health, health_reason) "
		    "VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,1,$21,$22,$23,$24,$25,$26,"
		    "$27,$28,$29,$30) "
		    "ON CONFLICT (uuid) DO UPDATE SET vendor_id=$4, device_id=$5, subsystem_vendor_id=$6, "
		    "subsystem_device_id=$7, vendor_name=$8, device_name=$9, board=$10, driver=$11, numa_node=$12, "
		    "iommu_group=$13, is_system_display_device=$14, implementation=$15, mixed_size=$16, "
		    "sriov_totalvfs=$17, sriov_numvfs=$18, present=1, "
		    "gpu_group_uuid=COALESCE(pgpu.gpu_group_uuid, $20), discovery_problems=$21, broken=$22, "
		    "mixed_size_source=$23, mixed_size_supported=$24, mig_mode=$25, mig_instances=$26, nvlink=$27, "
		    "ecc=$28, health=$29, health_reason=$30",
		    30, p->uuid, p->host, p->pci, p->vendor_id, p->device_id, p->subsystem_vendor_id,
		    p->subsystem_device_id, p->vendor_name, p->device_name, p->board, p->driver, numa, iommu,
		    p->is_system_display ? "1" : "0", carve_impl_name(p->impl), p->mixed_size ? "1" : "0", tvf, nvf, size,
		    p->group, p->problems ? p->problems : "", p->broken ? "1" : "0",
		    carve_hw_source_name(p->mixed_size_source), p->mixed_size_supported ? "1" : "0",
		    p->mig_mode ? p->mig_mode : "", p->mig_instances ? p->mig_instances : "", p->nvlink ? p->nvlink : "",
		    p->ecc ? p->ecc : "", p->health ? p->health : "ok", p->health_reason ? p->health_reason : "");
}

int carve_repo_pgpu_types_reset(struct carve_db *db, const char *pgpu, bool unsupported, struct carve_error *err)
{
	if (!unsupported)
		return EXEC(db, err, "UPDATE pgpu_type SET available=0 WHERE pgpu_uuid=$1", 1, pgpu);
	return EXEC(db, err, "UPDATE pgpu_type SET supported=0, available=0 WHERE pgpu_uuid=$1", 1, pgpu);
}

int carve_repo_type_upsert(struct carve_db *db, const struct carve_repo_type *t, struct carve_error *err)
{
	char fb[32], heads[16], rx[16], ry[16], frl[16], maxi[16], size[32], series[2] = {t->series, 0};
	snprintf(fb, sizeof(fb), "%llu", (unsigned long long)t->framebuffer_size);
	snprintf(heads, sizeof(heads), "%u", t->max_heads);
	snprintf(rx, sizeof(rx), "%u", t->max_res_x);
	snprintf(ry, sizeof(ry), "%u", t->max_res_y);
	snprintf(frl, sizeof(frl), "%u", t->frl_config);
	snprintf(maxi, sizeof(maxi), "%u", t->max_instances);
	snprintf(size, sizeof(size), "%lld", (long long)t->size);
	int r = EXEC(db, err,
		     "INSERT INTO vgpu_type (uuid, type_key, vendor_name, model_name, framebuffer_size, max_heads, "
		     "max_resolution_x, max_resolution_y, frl_config, max_instances, size, implementation, identifier, "
		     "board, multi_vgpu, series) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16) "
		     "ON CONFLICT (uuid) DO NOTHING",
		     16, t->uuid, t->type_key, t->vendor_name, t->model_name, fb, heads, rx, ry, frl, maxi, size,
		     carve_impl_name(t->impl), t->identifier, t->board, t->multi_vgpu ? "1" : "0", series);
	if (r >= 0 && t->facts_known)
		r = EXEC(db, err,
			 "UPDATE vgpu_type SET framebuffer_size=$2, max_heads=$3, max_resolution_x=$4, "
			 "max_resolution_y=$5, frl_config=$6, identifier=$7, multi_vgpu=$8, series=$9 WHERE uuid=$1",
			 9, t->uuid, fb, heads, rx, ry, frl, t->identifier, t->multi_vgpu ? "1" : "0", series);
	if (r >= 0 && t->budget_known)
		r = EXEC(db, err, "UPDATE vgpu_type SET max_instances=$2, size=$3 WHERE uuid=$1", 3, t->uuid, maxi, size);
	return r;
}

int carve_repo_pgpu_type_upsert(struct carve_db *db, const char *pgpu, const char *type, uint32_t max_instances,
				uint32_t available, const char *problem, enum carve_hw_source source,
				struct carve_error *err)
{
	char maxi[16], avail[16];
	snprintf(maxi, sizeof(maxi), "%u", max_instances);
	snprintf(avail, sizeof(avail), "%u", available);
	return EXEC(db, err,
		    "INSERT INTO pgpu_type (pgpu_uuid, vgpu_type_uuid, max_instances, available, supported, enabled, "
		    "problem, max_instances_source) VALUES ($1, $2, $3, $4, 1, 1, $5, $6) "
		    "ON CONFLICT (pgpu_uuid, vgpu_type_uuid) DO UPDATE SET max_instances=$3, available=$4, supported=1, "
		    "problem=$5, max_instances_source=$6",
		    6, pgpu, type, maxi, avail, problem ? problem : "", carve_hw_source_name(source));
}

/* ---- the pool ---- */

int carve_repo_host_set_enabled(struct carve_db *db, const char *uuid, bool enabled, struct carve_error *err)
{
	return EXEC(db, err, "UPDATE host SET enabled=$2 WHERE uuid=$1", 2, uuid, enabled ? "1" : "0");
}

int carve_repo_host_heartbeat(struct carve_db *db, const char *uuid, struct carve_error *err)
{
	char sql[160];
	snprintf(sql, sizeof(sql), "UPDATE host SET heartbeat_ms=%s WHERE uuid=$1", carve_db_now_ms_sql(db));
	return carve_db_execf(db, NULL, err, sql, 1, uuid);
}

int carve_repo_host_liveness(struct carve_db *db, struct carve_rows **out, struct carve_error *err)
{
	char sql[192];
	snprintf(sql, sizeof(sql), "SELECT uuid, enabled, %s - heartbeat_ms AS heartbeat_age_ms FROM host",
		 carve_db_now_ms_sql(db));
	return carve_db_execf(db, out, err, sql, 0);
}

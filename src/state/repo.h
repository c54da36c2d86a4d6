/* repo.h - every query carve runs against its store, one typed function
 * each (the SQL lives in repo.c and nowhere else).
 *
 * Reads return the rows of one table (SELECT *), for the model to turn into
 * objects (model.c); writes take typed arguments.  All run on the caller's
 * connection, inside whatever transaction it holds; writes belong in one
 * (carve_db_begin/carve_db_end), and every committed write transaction
 * bumps the store generation (store/db.c) but a shared one on PostgreSQL,
 * which notifies instead (db.h).  Errors: 0 or a negative errno
 * with err set (db.h's mapping: -EEXIST on a duplicate key, -EINVAL on a
 * constraint, ...).  Strings given may be NULL where the comment says so.
 *
 * The writes of the placement path (a VM's power state, claim, error and
 * migration phase, a vGPU's reservation and confirmation, a PGPU's counts)
 * are sent with the next statement where the store pipelines
 * (carve_db_exec_later): their failure is reported by that statement, or
 * by the commit, and fails the transaction all the same.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "host/inventory.h"
#include "objects.h"
#include "store/db.h"
#include "util/error.h"

enum carve_repo_table {
	CARVE_REPO_HOST,
	CARVE_REPO_GROUP,
	CARVE_REPO_TYPE,
	CARVE_REPO_PGPU,
	CARVE_REPO_PGPU_TYPE,
	CARVE_REPO_VM,
	CARVE_REPO_VGPU,
};

/* Rows of a table: all (key NULL), or those whose key column equals key:
 * uuid for host, group, type, pgpu and vm; pgpu_uuid for pgpu_type;
 * vm_uuid for vgpu. */
/* The statement carve_repo_select runs, for carve_db_exec_all: *key (NULL:
 * every row) and sql (filled in) must outlive it. */
void carve_repo_select_stmt(struct carve_db *db, enum carve_repo_table t, const char **key, char sql[256],
			    struct carve_rows **out, struct carve_db_stmt *st);
int carve_repo_select(struct carve_db *db, enum carve_repo_table t, const char *key, struct carve_rows **out,
		      struct carve_error *err);
/* PGPUs of a host, and their pgpu_type rows. */
int carve_repo_select_host_pgpus(struct carve_db *db, const char *host_uuid, struct carve_rows **pgpus,
				 struct carve_rows **slots, struct carve_error *err);

/* The store generation: bumped by every committed write transaction. */
int carve_repo_generation(struct carve_db *db, uint64_t *out, struct carve_error *err);

/* ---- VMs ---- */
/* *row: the row as inserted (RETURNING *), for the model. */
int carve_repo_vm_insert(struct carve_db *db, const char *uuid, const char *label, const char *desc, int32_t numa,
			 struct carve_rows **row, struct carve_error *err);
/* NULL leaves a field as it is. */
int carve_repo_vm_update(struct carve_db *db, const char *uuid, const char *label, const char *desc,
			 const int32_t *numa, const char *p2p, struct carve_error *err);
/* The VM and its vGPUs. */
/* The VM and its vGPUs as the store has them (SELECT *), then deleted - in
 * one round trip where the store pipelines.  The caller decides on the rows
 * read whether the VM may go, and rolls its transaction back if not. */
int carve_repo_vm_reread_delete(struct carve_db *db, const char *uuid, struct carve_rows **vm,
				struct carve_rows **vgpus, struct carve_error *err);
/* host NULL: resident nowhere. */
int carve_repo_vm_set_power(struct carve_db *db, const char *uuid, enum carve_power_state s, const char *host,
			    struct carve_error *err);

/* Lock the VM's row until the transaction ends (a shared transaction's
 * claim on it; db.h); *found says whether it exists. */
int carve_repo_vm_lock(struct carve_db *db, const char *uuid, bool *found, struct carve_error *err);
/* A VM goes between states (starting, stopping) on host, claimed by claim
 * (NULL: left to that host's agent), its last error cleared: one write. */
int carve_repo_vm_set_between(struct carve_db *db, const char *uuid, enum carve_power_state s, const char *host,
			      const char *claim, struct carve_error *err);
/* Take up a VM that another host's placement left to this one: claimed by
 * no one, and resident on host starting or stopping, or in a migration's
 * phase host acts in (preparing, releasing, aborting with migration_peer
 * host); *claimed says whether this call took it. */
int carve_repo_vm_claim(struct carve_db *db, const char *uuid, const char *host, bool *claimed,
			struct carve_error *err);
/* The error ("ID: message") of the VM's last failed start or shutdown; ""
 * or NULL clears it. */
int carve_repo_vm_set_error(struct carve_db *db, const char *uuid, const char *error, struct carve_error *err);
/* Take up at once the starts (of VMs in no migration) that other hosts'
 * placements left to host, at most max: their rows (uuid). */
int carve_repo_vm_claim_starts(struct carve_db *db, const char *host, size_t max, struct carve_rows **out,
			       struct carve_error *err);
/* Rows (uuid) of what carve_repo_vm_claim would let host take up. */
int carve_repo_vm_pending(struct carve_db *db, const char *host, struct carve_rows **out, struct carve_error *err);
/* One row: power_state, claimed_by, last_error, migration. */
int carve_repo_vm_status(struct carve_db *db, const char *uuid, struct carve_rows **out, struct carve_error *err);
/* A migration's phase, the host acting in it and the agent that took it
 * up (claim NULL: none yet); CARVE_MIGRATION_NONE clears the peer. */
int carve_repo_vm_set_migration(struct carve_db *db, const char *uuid, enum carve_migration m, const char *peer,
				const char *claim, struct carve_error *err);
/* A prepared migration done: the VM and its vGPUs resident on dest, the
 * source's PGPUs and devices kept as the other side (scheduled_pgpu,
 * peer_device_pci) for the source to release (phase releasing). */
int carve_repo_vm_migration_switch(struct carve_db *db, const char *uuid, const char *dest, const char *source,
				   const char *claim, struct carve_error *err);
/* No migration: the other side of each vGPU forgotten. */
int carve_repo_vm_migration_clear(struct carve_db *db, const char *uuid, struct carve_error *err);
/* A vGPU's other side in a migration: the PGPU and the device there. */
int carve_repo_vgpu_schedule_peer(struct carve_db *db, const char *uuid, const char *pgpu, const char *device_pci,
				  struct carve_error *err);
/* Rows (uuid) of the VMs whose migration host acts in. */
int carve_repo_host_migrations(struct carve_db *db, const char *host, struct carve_rows **out, struct carve_error *err);
/* Rows (uuid) of every VM resident on host, in any power state. */
int carve_repo_host_vms(struct carve_db *db, const char *host, struct carve_rows **out, struct carve_error *err);

/* ---- vGPUs ---- */
struct carve_repo_vgpu {
	const char *uuid, *vm, *type, *group;
	uint32_t device;
	const char *extra_args;     /* NULL: none */
	enum carve_vgpu_state state;
	enum carve_vgpu_origin origin;
	const char *resident_on;    /* NULL: none */
	const char *device_pci;     /* NULL: "" */
};
int carve_repo_vgpu_insert(struct carve_db *db, const struct carve_repo_vgpu *v, struct carve_error *err);
int carve_repo_vgpu_delete(struct carve_db *db, const char *uuid, struct carve_error *err);
int carve_repo_vgpu_set_extra_args(struct carve_db *db, const char *uuid, const char *extra, struct carve_error *err);
/* Lock the PGPU's row until the transaction ends (every placement on it
 * takes this lock before it counts what the PGPU holds), then the rows
 * (uuid, vm_uuid) of the vGPUs resident or scheduled on it, ordered by
 * uuid: one round trip where the store pipelines. */
int carve_repo_pgpu_lock_vms(struct carve_db *db, const char *pgpu, struct carve_rows **out, struct carve_error *err);
/* Intent: placed on pgpu (and that VF, "" when none), state reserved. */
int carve_repo_vgpu_reserve(struct carve_db *db, const char *uuid, const char *pgpu, const char *device_pci,
			    struct carve_error *err);

/* The same writes for n rows at once (a batch of starts), in one statement
 * each however many rows (n at most CARVE_REPO_SET_MAX), deferred as the
 * single ones are (carve_db_exec_later; the single ones are these for one
 * row): the rows of carve_repo_vgpu_reserve and carve_repo_vm_set_between
 * (power s for all), carve_repo_vm_set_power of n VMs to one state on one
 * host, and the confirmation of n vGPUs (realized on their scheduled PGPU
 * at device_pci, running).  The strings must stay valid until the call
 * returns (they are copied). */
#define CARVE_REPO_SET_MAX 1024
int carve_repo_vgpus_reserve(struct carve_db *db, size_t n, const char *const *uuid, const char *const *pgpu,
			     const char *const *device_pci, struct carve_error *err);
int carve_repo_vms_set_between(struct carve_db *db, size_t n, const char *const *uuid, enum carve_power_state s,
			       const char *const *host, const char *const *claim, struct carve_error *err);
int carve_repo_vgpus_confirm(struct carve_db *db, size_t n, const char *const *uuid, const char *const *device_pci,
			     struct carve_error *err);
int carve_repo_vms_set_power(struct carve_db *db, size_t n, const char *const *uuid, enum carve_power_state s,
			     const char *host, struct carve_error *err);
int carve_repo_vgpu_set_device_pci(struct carve_db *db, const char *uuid, const char *device_pci,
				   struct carve_error *err);
/* Every vGPU of a VM back to defined (no PGPU, no device). */
int carve_repo_vm_vgpus_release(struct carve_db *db, const char *vm, struct carve_error *err);
int carve_repo_vm_vgpus_set_state(struct carve_db *db, const char *vm, enum carve_vgpu_state s,
				  struct carve_error *err);

/* ---- GPU groups and PGPU settings ---- */
int carve_repo_group_insert(struct carve_db *db, const char *uuid, const char *label, const char *desc,
			    enum carve_place_algo algo, struct carve_error *err);
/* NULL / algo < 0 leave a field as it is. */
int carve_repo_group_update(struct carve_db *db, const char *uuid, const char *label, const char *desc, int algo,
			    const char *degraded, struct carve_error *err);
int carve_repo_group_delete(struct carve_db *db, const char *uuid, struct carve_error *err);
int carve_repo_pgpu_set_group(struct carve_db *db, const char *pgpu, const char *group, struct carve_error *err);
/* The driver's count of free instances of the type on the PGPU, as carve's
 * own act left it (carve_pgpu_available_after), until the next discovery
 * says exactly. */
int carve_repo_pgpu_type_set_available(struct carve_db *db, const char *pgpu, const char *type, int64_t available,
				       struct carve_error *err);
int carve_repo_pgpu_type_set_enabled(struct carve_db *db, const char *pgpu, const char *type, bool on,
				     struct carve_error *err);

/* ---- the pool ---- */
int carve_repo_host_set_enabled(struct carve_db *db, const char *uuid, bool enabled, struct carve_error *err);
/* This host's agent is alive: heartbeat_ms = the server's clock now. */
int carve_repo_host_heartbeat(struct carve_db *db, const char *uuid, struct carve_error *err);
/* Rows (uuid, enabled, heartbeat_age_ms) of every host. */
int carve_repo_host_liveness(struct carve_db *db, struct carve_rows **out, struct carve_error *err);

/* ---- folding an inventory in (ops/sync.c) ---- */
int carve_repo_host_upsert(struct carve_db *db, const char *uuid, const char *name, const char *backend,
			   const char *driver_version,
			   const char *problems, struct carve_error *err);
int carve_repo_host_set_inventory_hash(struct carve_db *db, const char *uuid, const char *hash,
				       struct carve_error *err);
/* Every PGPU of the host absent until the inventory names it again. */
int carve_repo_host_pgpus_absent(struct carve_db *db, const char *host, struct carve_error *err);
/* The host configuration in force (YAML text, "" for none). */
int carve_repo_host_set_config(struct carve_db *db, const char *host, const char *config, struct carve_error *err);
/* The vgpu_params defaults of a PGPU (host-apply), "" for none. */
int carve_repo_pgpu_set_vgpu_params(struct carve_db *db, const char *pgpu, const char *params, struct carve_error *err);
int carve_repo_pgpu_set_absent(struct carve_db *db, const char *pgpu, struct carve_error *err);
int carve_repo_group_ensure_auto(struct carve_db *db, const char *uuid, const char *label, const char *key,
				 struct carve_error *err);

struct carve_repo_pgpu {
	const char *uuid, *host, *pci, *vendor_id, *device_id, *subsystem_vendor_id, *subsystem_device_id;
	const char *vendor_name, *device_name, *board, *driver;
	int32_t numa_node, iommu_group;
	bool is_system_display, mixed_size, mixed_size_supported, broken;
	enum carve_impl impl;
	enum carve_hw_source mixed_size_source;
	uint32_t sriov_totalvfs, sriov_numvfs;
	int64_t size;
	const char *group;     /* set only when the PGPU has none: an operator's move stands */
	const char *problems;
	const char *mig_mode;      /* "", "off", "on" */
	const char *mig_instances; /* profiles, one per line */
	const char *nvlink;        /* "<peer pci> <links>" lines, "" when not known */
	const char *ecc;           /* JSON of the ECC counters, "" when not known */
	const char *health, *health_reason;
};
int carve_repo_pgpu_upsert(struct carve_db *db, const struct carve_repo_pgpu *p, struct carve_error *err);
/* All of a PGPU's types unavailable; with unsupported, unsupported too
 * (then re-marked by carve_repo_pgpu_type_upsert for what the host reports). */
int carve_repo_pgpu_types_reset(struct carve_db *db, const char *pgpu, bool unsupported, struct carve_error *err);

struct carve_repo_type {
	const char *uuid, *type_key, *vendor_name, *model_name, *identifier, *board;
	uint64_t framebuffer_size;
	uint32_t max_heads, max_res_x, max_res_y, frl_config, max_instances;
	int64_t size;
	enum carve_impl impl;
	bool multi_vgpu;
	char series;
	bool facts_known;      /* refresh the pool-wide facts (else only insert when new) */
	bool budget_known;     /* refresh max_instances and size */
};
int carve_repo_type_upsert(struct carve_db *db, const struct carve_repo_type *t, struct carve_error *err);
int carve_repo_pgpu_type_upsert(struct carve_db *db, const char *pgpu, const char *type, uint32_t max_instances,
				uint32_t available, const char *problem, enum carve_hw_source source,
				struct carve_error *err);

/* model.h - the resident model: every host, PGPU, GPU group, vGPU type,
 * VM and vGPU of the store as typed objects in memory, with lookups by
 * UUID and placement views that keep src/place's index up to date.
 *
 * The store stays the durable record: the model is loaded from it once
 * (carve_model_load) and, after every write that commits, the objects the
 * write touched are reloaded from it (carve_model_reload_*), so memory
 * never holds what the store does not and a failed commit leaves memory
 * untouched.  `generation` is the store generation the model reflects
 * (carve_repo_generation): a different one in the store means another
 * process wrote, and the caller reloads.
 *
 * Placement views: the PGPUs of one (GPU group, host) pair, as a contiguous
 * array of struct carve_place_pgpu (what carve_place_capacity() and the
 * index read), with one carve_place_index per vGPU type asked about, built
 * on first use with the group's algorithm and updated whenever a PGPU of
 * the view changes (a vGPU placed, realized or released, a type enabled,
 * a rediscovery).  A vm-start on a host places within that host's view of
 * the group; remaining capacity sums the group's views of every host.
 *
 * Threading: the model carries a read-write lock that callers take
 * (carve_model_rdlock for reads, carve_model_wrlock for changes); the
 * functions themselves do not lock.  Objects returned are borrowed: valid
 * while the lock is held and the object is not reloaded or removed.
 * Errors: 0 or a negative errno with err set; a failed reload leaves the
 * objects it concerns as they were.
 */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "objects.h"
#include "place/index.h"
#include "store/db.h"
#include "util/error.h"

/* An open-addressing map from UUID to object (the UUID is the object's
 * first member). */
struct carve_umap {
	void **slot;
	size_t cap, n;
};

/* Objects of one class: an array of pointers (owned) and a UUID map. */
struct carve_objs {
	void **v;
	size_t n, cap;
	struct carve_umap map;
};

struct carve_view_index {
	const struct carve_obj_type *type;
	struct carve_place_index *idx;
	bool room; /* the index has room (total > 0): its view is in the type's room set */
};

/* Per GPU group and vGPU type: the views whose index for the type has room,
 * kept as the indexes change (carve_model_rooms).  A placement in a pool of
 * thousands of hosts then looks at the hosts that can take the vGPU, not
 * at every host.  Any index dropped makes every set stale (rebuilt on next
 * use). */
struct carve_room {
	const struct carve_obj_group *group;
	const struct carve_obj_type *type;
	struct carve_view **views;
	size_t n, cap;
};

struct carve_rooms {
	struct carve_room *v;
	size_t n;
	bool stale;
};

struct carve_view {
	struct carve_obj_group *group; /* NULL: PGPUs in no group */
	struct carve_obj_host *host;
	struct carve_place_pgpu *pgpus; /* n, contiguous: what src/place reads */
	struct carve_obj_pgpu **objs;   /* n, the same PGPUs as model objects */
	size_t n, cap;
	struct carve_view_index *idx;   /* built on first use, one per type */
	size_t n_idx;
	struct carve_rooms *rooms;      /* the model's (NULL: none kept) */
};

/* Uncommitted changes (carve_model_set_uncommitted): readers that want
 * only what is durable wait while the model holds any. */
struct carve_model_gate {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool uncommitted;
	unsigned blocked; /* readers waiting for the model to be committed again */
};

struct carve_model {
	/* Synchronization first: carve_model_load replaces everything from
	 * `generation` on and never copies these. */
	pthread_rwlock_t lock;
	pthread_mutex_t index_lock; /* readers building a placement index (model.c, view_index) */
	struct carve_model_gate gate;
	uint64_t generation;
	/* Moves on every change to the model (a load, a reload, a count): what
	 * a cache of answers keys on, since a shared transaction changes the
	 * store without moving its generation (store/db.h). */
	uint64_t version;
	/* A host whose heartbeat is older than this is not live (pool.md). */
	int64_t host_timeout_ms;
	struct carve_objs hosts, groups, types, pgpus, vms, vgpus;
	struct carve_view **views;
	size_t n_views;
	struct carve_rooms *rooms; /* owned; the views point to it */
	struct carve_umap strings; /* interned strings */
	/* Per PGPU: its vGPUs (resident or scheduled); per VM: its vGPUs by slot. */
};

int carve_model_new(struct carve_model **out);
void carve_model_free(struct carve_model *m);
CARVE_DEFINE_CLEANUP(struct carve_model, carve_model_free)

void carve_model_rdlock(struct carve_model *m);
void carve_model_wrlock(struct carve_model *m);
void carve_model_unlock(struct carve_model *m);

/* Group commit (api/service.h): a batch of requests changes the model
 * before the one commit that makes them all durable.  While it does, the
 * model is marked uncommitted (set under the write lock, true when the
 * batch opens, false once it committed - or failed and the model was loaded
 * again); carve_model_rdlock_committed takes the read lock only on a model
 * that holds nothing uncommitted, waiting for the batch otherwise, so that
 * no answer shows what may yet be lost.  carve_model_await_readers, called
 * by whoever cleared the mark before the next batch may begin, lets every
 * reader that waited in first: a reader waits for one batch at most. */
void carve_model_set_uncommitted(struct carve_model *m, bool uncommitted);
void carve_model_rdlock_committed(struct carve_model *m);
void carve_model_await_readers(struct carve_model *m);

/* Replace the whole model with what the store holds now.  On failure the
 * model is as it was. */
int carve_model_load(struct carve_model *m, struct carve_db *db, struct carve_error *err);

/* Reload one object (and what hangs on it) from the store after a write:
 *   host   - the host row
 *   group  - the group row (gone from the store: removed)
 *   type   - the vGPU type row
 *   pgpu   - the PGPU row and its pgpu_type rows (with any type or group
 *            they name that the model lacks)
 *   vm     - the VM row and all its vGPUs (gone: removed, with its vGPUs)
 * Views and indexes follow. */
int carve_model_reload_host(struct carve_model *m, struct carve_db *db, const char *uuid, struct carve_error *err);
int carve_model_reload_group(struct carve_model *m, struct carve_db *db, const char *uuid, struct carve_error *err);
int carve_model_reload_type(struct carve_model *m, struct carve_db *db, const char *uuid, struct carve_error *err);
int carve_model_reload_pgpu(struct carve_model *m, struct carve_db *db, const char *uuid, struct carve_error *err);
int carve_model_reload_vm(struct carve_model *m, struct carve_db *db, const char *uuid, struct carve_error *err);
/* The same, the VM's row locked for the rest of the caller's transaction
 * (as carve_repo_vm_lock) by the read itself; *found: it exists. */
int carve_model_lock_reload_vm(struct carve_model *m, struct carve_db *db, const char *uuid, bool *found,
			       struct carve_error *err);
/* What reload_vm does with the rows it read, for a writer that has them
 * already (INSERT ... RETURNING, or a delete: rows NULL or empty = gone):
 * the VM row (rows row 0) and its vGPU rows (NULL: none), columns as
 * SELECT * returns them.  db: to load a type or group a vGPU names that the
 * model has not seen yet. */
int carve_model_set_vm(struct carve_model *m, struct carve_db *db, const char *uuid, const struct carve_rows *rows,
		       const struct carve_rows *vgpus, struct carve_error *err);
/* The same as carve_model_lock_reload_vm for n VMs at once, in one round
 * trip where the store pipelines (two statements a VM: by its key, each
 * is an index lookup whatever the statistics say); their rows are locked
 * in the order given (callers sort them, so that two such reads never wait
 * on each other in a cycle).  found[i]: VM i exists. */
int carve_model_lock_reload_vms(struct carve_model *m, struct carve_db *db, const char *const *uuids, size_t n,
				bool *found, struct carve_error *err);
/* What a writer wrote of a VM or a vGPU, applied to the model without
 * reading it back.  Only for a row the writer's transaction holds locked
 * (the VM's), so that the store holds exactly this once it commits; if it
 * does not commit, the caller reloads the VM.  Model write-locked.
 * vm_set_state: power state, resident_on (NULL: none), claimed_by ("" or
 * NULL: none), and the last error cleared when clear_error.
 * vgpu_set_place: where the vGPU holds capacity and its state; -ENOMEM
 * leaves the vGPU detached (reload the VM). */
void carve_model_vm_set_state(struct carve_model *m, struct carve_obj_vm *vm, enum carve_power_state power,
			      struct carve_obj_host *resident_on, const char *claimed_by, bool clear_error);
int carve_model_vgpu_set_place(struct carve_model *m, struct carve_obj_vgpu *v, struct carve_obj_pgpu *resident,
			       struct carve_obj_pgpu *scheduled, const char *device_pci, enum carve_vgpu_state state);
/* Every PGPU of a host, its host row and any type or group they name. */
int carve_model_reload_host_pgpus(struct carve_model *m, struct carve_db *db, const char *host_uuid,
				  struct carve_error *err);

/* Is the host's carved alive: a heartbeat no older than host_timeout_ms,
 * counting the time since it was read? */
bool carve_model_host_live(const struct carve_model *m, const struct carve_obj_host *h);
/* Fold rows of carve_repo_host_liveness in (enabled, heartbeat); hosts the
 * model lacks are skipped.  Model write-locked. */
void carve_model_set_liveness(struct carve_model *m, const struct carve_rows *rows);

/* Lookups by UUID (normalized, lower case); NULL when absent. */
void *carve_objs_get(const struct carve_objs *o, const char *uuid);
struct carve_obj_host *carve_model_host(const struct carve_model *m, const char *uuid);
struct carve_obj_group *carve_model_group(const struct carve_model *m, const char *uuid);
struct carve_obj_type *carve_model_type(const struct carve_model *m, const char *uuid);
struct carve_obj_pgpu *carve_model_pgpu(const struct carve_model *m, const char *uuid);
struct carve_obj_vm *carve_model_vm(const struct carve_model *m, const char *uuid);
struct carve_obj_vgpu *carve_model_vgpu(const struct carve_model *m, const char *uuid);
struct carve_obj_pgpu *carve_model_pgpu_at(const struct carve_model *m, const char *host_uuid, const char *pci);

/* Iteration in storage order (unordered): */
#define carve_model_each(m, cls, T, var)                                                                           \
	for (size_t _i_##var = 0; _i_##var < (m)->cls.n; _i_##var++)                                               \
		for (T *var = (m)->cls.v[_i_##var]; var; var = NULL)

/* The placement data of a PGPU (in its view). */
const struct carve_place_pgpu *carve_pgpu_place(const struct carve_obj_pgpu *p);
/* The pgpu_type slot of type t on p, or -1. */
ssize_t carve_pgpu_slot_of(const struct carve_obj_pgpu *p, const struct carve_obj_type *t);

/* Does p still report t (its supported-VGPU-types), and, with enabled, has
 * the operator left it enabled there (enabled-VGPU-types)? */
bool carve_pgpu_supports(const struct carve_obj_pgpu *p, const struct carve_obj_type *t, bool enabled);
/* The same for some PGPU of group g (the group's supported-VGPU-types,
 * enabled-VGPU-types). */
bool carve_model_group_supports(const struct carve_model *m, const struct carve_obj_group *g,
				const struct carve_obj_type *t, bool enabled);
/* The driver's count of a type's free instances on a PGPU after carve itself
 * made (delta -1) or removed (+1) one, until the next discovery says
 * exactly: never below 0 nor above the type's max_instances there (0: no
 * bound known).  The one rule: the store is written with what it returns. */
int64_t carve_pgpu_available_after(int64_t available, uint32_t max_instances, int delta);
/* Set that count on p's slot of t, once the store has committed it; the
 * view's indexes follow.  -ENOENT when p has no slot of t (nothing changes).
 * Model write-locked. */
int carve_model_pgpu_set_available(struct carve_obj_pgpu *p, const struct carve_obj_type *t, int64_t available);

/* A PGPU's vGPUs (resident or scheduled) and a VM's (by slot), borrowed. */
size_t carve_model_pgpu_vgpus(const struct carve_model *m, const struct carve_obj_pgpu *p,
			      struct carve_obj_vgpu ***out);
size_t carve_model_vm_vgpus(const struct carve_model *m, const struct carve_obj_vm *vm, struct carve_obj_vgpu ***out);

/* Place a vGPU of type t for a VM on host's PGPUs of group g with the
 * group's algorithm (carve_place_index): *chosen, or NULL with *why the most
 * telling reason.  exclude: PGPUs not to use (the VM's other vGPUs'),
 * NULL-terminated or NULL. */
int carve_model_place(struct carve_model *m, const struct carve_obj_group *g, const struct carve_obj_host *host,
		      const struct carve_obj_type *t, int32_t numa_node, struct carve_obj_pgpu *const *exclude,
		      struct carve_obj_pgpu **chosen, enum carve_place_reason *why, struct carve_error *err);
/* Does a host's capacity count as the pool's: enabled, and not silent (an
 * agent that heartbeated and stopped: its capacity is not given away until
 * it comes back or is declared dead).  A host that never had an agent
 * (driven by the CLI alone) counts. */
bool carve_model_host_counts(const struct carve_model *m, const struct carve_obj_host *h);
/* The views of group g (a host each) whose placement index for type t has
 * room, exactly those (*views borrowed until the model next changes).
 * Model write-locked.  -ENOMEM (nothing set) where the set cannot be kept:
 * then the caller looks at every host. */
int carve_model_rooms(struct carve_model *m, const struct carve_obj_group *g, const struct carve_obj_type *t,
		      struct carve_view *const **views, size_t *n);
/* How many more vGPUs of type t the group can take, over every host whose
 * capacity counts (carve_model_host_counts). */
int carve_model_remaining(struct carve_model *m, const struct carve_obj_group *g, const struct carve_obj_type *t,
			  int64_t *out, struct carve_error *err);
/* How many more of type t fit on p now, and why not (the index's figure). */
int carve_model_capacity(struct carve_model *m, const struct carve_obj_pgpu *p, const struct carve_obj_type *t,
			 int64_t *out, enum carve_place_reason *why, struct carve_error *err);

/* An interned copy of s (NULL -> ""); NULL only on ENOMEM. */
const char *carve_model_intern(struct carve_model *m, const char *s);

/* Bytes the model's objects, strings and views take (approximate; for
 * docs/performance.md). */
size_t carve_model_bytes(const struct carve_model *m);

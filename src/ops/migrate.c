/* migrate.c - live migration between hosts of a pool: vm-migration-check
 * (could a running VM move to another host, and where would its vGPUs
 * go?), and vm-migrate, vm-migrate-confirm, vm-migrate-abort (move it).
 *
 * The check answers from the resident model, as placement would decide
 * now.  The VM is compatible with the destination when all of these hold:
 *   - the VM runs, on another host than the destination; the destination is
 *     enabled and live (its carved heartbeats);
 *   - NVIDIA's driver is known on both hosts and is the same version (RHEL's
 *     and NVIDIA's vGPU migration documentation: source and destination run
 *     the same vGPU manager release);
 *   - every vGPU's type migrates at all: NVIDIA vGPU types of Pascal and
 *     later boards (mdev or vendor-specific VFIO), not passthrough, not AMD
 *     MxGPU or Intel GVT-g, not Maxwell or Kepler boards;
 *   - each vGPU has a PGPU of its group on the destination that takes its
 *     type now (supported, enabled, healthy, compatible, capacity: placement's
 *     rules; types are pool-wide, so it is the same profile there);
 *   - a P2P VM (vm p2p=required) keeps NVLink between its vGPUs there.
 * Every reason that fails is listed, not only the first.  Errors:
 * UUID_NOT_FOUND, HOST_NOT_FOUND, HOST_NAME_AMBIGUOUS.
 *
 * vm-migrate moves it in the phases of schema 009 (src/store/schema/
 * 009_migrate_suspend.sql), each its own commit, so that a kill anywhere leaves
 * a state that one side finishes or rolls back and the VM runs on exactly
 * one host throughout:
 *   1. intent (here): the check passes; the destination PGPUs are pinned
 *      and each vGPU scheduled on one (capacity held on both hosts); the
 *      phase 'preparing' is handed to the destination's agent;
 *   2. the destination's carved creates the devices (same UUIDs, same
 *      vgpu_params) and confirms 'prepared' (lifecycle.c);
 *   3. libvirt moves the VM: carve runs the configured migrate command
 *      (carved's pool.migrate-command, the CLI's CARVE_MIGRATE_COMMAND)
 *      with both sides' hostdev XML; without one, vm-migrate stops
 *      at 'prepared' and answers what to run, and the operator ends it
 *      with vm-migrate-confirm or vm-migrate-abort;
 *   4. confirm (here): the VM and its vGPUs are resident on the
 *      destination, the source's side kept as the other side; 'releasing'
 *      is handed to the source's agent, which removes its devices.
 * A failure before 4 aborts: 'aborting' is handed to the destination,
 * which removes what it made; the VM never stopped running on the source. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <fcntl.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "args.h"
#include "emit/emit.h"
#include "model/catalog.h"
#include "pool.h"
#include "state/model.h"
#include "state/repo.h"
#include "util/cleanup.h"
#include "util/crashpoint.h"
#include "verbs.h"
#include "vm.h"

/* Does a vGPU of type t migrate at all (see above)? */
static const char *type_migrates(const struct carve_obj_type *t)
{
	if (t->impl != CARVE_IMPL_NVIDIA_MDEV && t->impl != CARVE_IMPL_NVIDIA_SRIOV)
		return "only NVIDIA vGPU types migrate live (not passthrough, AMD MxGPU or Intel GVT-g)";
	const struct carve_board *b = carve_board_by_name(t->place.board);
	const char *arch = b && b->architecture ? b->architecture : "";
	if (strncmp(arch, "Maxwell", 7) == 0 || strncmp(arch, "Kepler", 6) == 0)
		return "NVIDIA migrates vGPUs of Pascal and later GPUs only";
	return NULL;
}

static int add(json_t *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int add(json_t *a, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return json_array_append_new(a, json_string(buf));
}

/* Where the VM's vGPUs would go on dst, and every reason it cannot move
 * there (why, an array of "ID: text"); vgpus describes each vGPU's
 * destination; chosen[] the PGPUs, in vGPU order. */
struct move {
	json_t *why, *vgpus;
	struct carve_obj_pgpu *chosen[CARVE_MAX_VGPUS_PER_VM + 1];
};

static void move_clear(struct move *m)
{
	json_decref(m->why);
	json_decref(m->vgpus);
	memset(m, 0, sizeof(*m));
}

static int plan_move(struct carve_ctx *ctx, const struct carve_obj_vm *vm, const struct carve_obj_host *dst,
		     struct move *m, struct carve_error *err)
{
	move_clear(m);
	m->why = json_array();
	m->vgpus = json_array();
	if (!m->why || !m->vgpus)
		return carve_error_set(err, -ENOMEM, "OUT_OF_MEMORY", "out of memory");
	json_t *why = m->why;
	const struct carve_obj_host *src = vm->resident_on;
	int r;
	if (vm->power != CARVE_POWER_RUNNING || !src)
		add(why, "VM_NOT_RUNNING: VM '%s' is %s: only a running VM migrates live", vm->name_label,
		    carve_power_state_name(vm->power));
	else if (src == dst)
		add(why, "SAME_HOST: VM '%s' runs on %s already", vm->name_label, dst->name_label);
	if (!dst->enabled)
		add(why, "HOST_DISABLED: %s is disabled (host-enable)", dst->name_label);
	else if (src != dst && !carve_model_host_live(ctx->model, dst))
		add(why, "HOST_OFFLINE: %s has no live carved (no heartbeat within pool.host-timeout-s)", dst->name_label);
	const char *ds = src ? src->driver_version : "", *dd = dst->driver_version;
	if (!*ds || !*dd)
		add(why, "DRIVER_UNKNOWN: NVIDIA's driver version is not known on %s (NVML)",
		    !*ds ? (src ? src->name_label : "the source") : dst->name_label);
	else if (strcmp(ds, dd) != 0)
		add(why, "DRIVER_MISMATCH: driver %s on %s, %s on %s: vGPUs migrate between the same driver version", ds,
		    src->name_label, dd, dst->name_label);

	struct carve_obj_pgpu **chosen = m->chosen;
	for (uint32_t i = 0; i < vm->n_vgpus && i < CARVE_MAX_VGPUS_PER_VM; i++) {
		const struct carve_obj_vgpu *v = vm->vgpus[i];
		const char *no = type_migrates(v->type);
		enum carve_place_reason pr = CARVE_PLACE_NOT_SUPPORTED;
		if (!no && v->group &&
		    (r = carve_model_place(ctx->model, v->group, dst, v->type, vm->numa_node, chosen, &chosen[i], &pr,
					   err)) < 0)
			return r;
		const struct carve_obj_pgpu *p = chosen[i];
		if (no)
			add(why, "TYPE_NOT_MIGRATABLE: vGPU %s (%s): %s", v->uuid, v->type->model_name, no);
		else if (!p)
			add(why, "%s: vGPU %s (%s): no PGPU of its group on %s takes it", carve_place_reason_id(pr), v->uuid,
			    v->type->model_name, dst->name_label);
		json_array_append_new(m->vgpus, json_pack("{s:s, s:s, s:s, s:s}", "uuid", v->uuid, "type",
							  v->type->model_name, "destination-pgpu", p ? p->uuid : "",
							  "destination-pci", p ? carve_pgpu_place(p)->pci : ""));
	}
	/* P2P: the chosen PGPUs must stay pairwise NVLink-joined. */
	for (uint32_t i = 0; vm->p2p == CARVE_P2P_REQUIRED && i < vm->n_vgpus && chosen[i]; i++)
		for (uint32_t j = i + 1; j < vm->n_vgpus && chosen[j]; j++) {
			bool joined = false;
			for (uint8_t k = 0; k < chosen[i]->n_nvlink && !joined; k++)
				joined = strcmp(chosen[i]->nvlink[k].peer, carve_pgpu_place(chosen[j])->pci) == 0;
			if (!joined) {
				add(why, "P2P_NOT_POSSIBLE: %s and %s on %s are not joined by NVLink (p2p=required)",
				    carve_pgpu_place(chosen[i])->pci, carve_pgpu_place(chosen[j])->pci, dst->name_label);
				i = vm->n_vgpus; /* once is enough */
				break;
			}
		}
	return 0;
}

static void virsh_command(const struct carve_obj_vm *vm, const struct carve_obj_host *dst, char out[512])
{
	snprintf(out, 512, "virsh migrate --live --persistent --undefinesource %s qemu+ssh://%s/system", vm->name_label,
		 dst->hostname && *dst->hostname ? dst->hostname : dst->name_label);
}

int carve_op_vm_migration_check(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err)
{
	char uuid[37];
	const char *to;
	int r;
	if ((r = carve_arg_uuid(args, "uuid", true, uuid, err)) < 0 || (r = carve_arg_str(args, "host", true, &to, err)) < 0)
		return r;
	const struct carve_obj_vm *vm = carve_model_vm(ctx->model, uuid);
	if (!vm)
		return carve_ops_not_found("vm", uuid, err);
	const struct carve_obj_host *dst = carve_pool_host_named(ctx, to, err);
	if (!dst)
		return err->code;
	struct move m = {0};
	if ((r = plan_move(ctx, vm, dst, &m, err)) < 0) {
		move_clear(&m);
		return r;
	}
	bool ok = json_array_size(m.why) == 0;
	char cmd[512];
	virsh_command(vm, dst, cmd);
	*result = json_pack("{s:b, s:s, s:s, s:O, s:O, s:s}", "compatible", ok, "source",
			    vm->resident_on ? vm->resident_on->name_label : "", "destination", dst->name_label, "vgpus",
			    m.vgpus, "reasons", m.why, "libvirt", ok ? cmd : "");
	move_clear(&m);
	return *result ? 0 : -ENOMEM;
}

/* ---- vm-migrate ---- */

/* The reasons as one message, "; " between them. */
static int not_compatible(const struct carve_obj_vm *vm, const struct carve_obj_host *dst, json_t *why,
			  struct carve_error *err)
{
	char msg[1536];
	size_t off = 0;
	for (size_t i = 0; i < json_array_size(why) && off < sizeof(msg); i++)
		off += (size_t)snprintf(msg + off, sizeof(msg) - off, "%s%s", i ? "; " : "",
					json_string_value(json_array_get(why, i)));
	return carve_error_set(err, -EINVAL, "MIGRATION_NOT_COMPATIBLE", "VM %s cannot move to %s: %s", vm->uuid,
			       dst->name_label, msg);
}

/* Step 1 in the caller's transaction (the VM locked): the plan made on the
 * store's picture of each chosen PGPU (pinned, and made again where the
 * model was behind), each vGPU scheduled there, 'preparing' handed over. */
static int intend(struct carve_ctx *ctx, const char *uuid, const struct carve_obj_host *dst, struct carve_error *err)
{
	struct move m = {0};
	int r = 0;
	for (int round = 0; round < 16 && r >= 0; round++) {
		const struct carve_obj_vm *vm = carve_model_vm(ctx->model, uuid);
		if (!vm)
			return carve_ops_not_found("vm", uuid, err);
		if ((r = plan_move(ctx, vm, dst, &m, err)) < 0)
			break;
		if (json_array_size(m.why) > 0) {
			r = not_compatible(vm, dst, m.why, err);
			break;
		}
		bool changed = false;
		for (uint32_t i = 0; i < vm->n_vgpus && !changed && r >= 0; i++)
			r = carve_ops_pgpu_pin(ctx, m.chosen[i], &changed, err);
		if (r < 0 || changed)
			continue; /* the model was behind: plan again on what the store holds */
		for (uint32_t i = 0; i < vm->n_vgpus && r >= 0; i++)
			r = carve_repo_vgpu_schedule_peer(ctx->db, vm->vgpus[i]->uuid, m.chosen[i]->uuid, "", err);
		if (r >= 0)
			r = carve_repo_vm_set_migration(ctx->db, uuid, CARVE_MIGRATION_PREPARING, dst->uuid, NULL, err);
		if (r >= 0)
			r = carve_repo_vm_set_error(ctx->db, uuid, NULL, err);
		if (r >= 0)
			r = carve_pool_hand_over(ctx, dst->uuid, uuid, err);
		if (r >= 0)
			r = carve_pool_note_vm(ctx, uuid, err);
		move_clear(&m);
		return r;
	}
	move_clear(&m);
	return r < 0 ? r : carve_error_set(err, -EAGAIN, "PLACEMENT_CONTENDED",
					   "the destination's PGPUs kept changing under the plan; try again");
}

/* Hand a phase to the host that acts in it, and wait for it there: this
 * host takes it up itself when it is that host (another agent of it may be
 * faster: the claim decides). */
static int hand_and_wait(struct carve_ctx *ctx, const char *vm, const char *peer, enum carve_migration phase,
			 struct carve_error *err)
{
	if (strcmp(peer, ctx->host_uuid) == 0 && ctx->host) {
		struct carve_error e = {0};
		carve_ops_realize(ctx, vm, &e); /* its error is recorded on the VM: the wait reads it */
	}
	return carve_pool_wait_migration(ctx, vm, peer, phase, err);
}

/* text into a new temporary file (path: a mkstemp template); 0 or -errno. */
static int temp_with(char *path, const char *text)
{
	int fd = mkstemp(path);
	if (fd < 0)
		return -errno;
	size_t len = strlen(text);
	bool wrote = write(fd, text, len) == (ssize_t)len;
	close(fd);
	if (!wrote) {
		unlink(path);
		return -EIO;
	}
	return 0;
}

/* Run `command VM-UUID VM-NAME DESTINATION DEST-HOSTDEVS SOURCE-HOSTDEVS`
 * (the two XML lists in files) with the model and the writers' lock
 * released: 0 when it exits 0; else MIGRATION_FAILED naming the exit and
 * the last of its output. */
static int run_command(struct carve_ctx *ctx, const char *command, const char *vm, const char *name,
		       const char *dest, const char *xml, const char *src_xml, struct carve_error *err)
{
	char xml_path[] = "/tmp/carve-migrate-XXXXXX", src_path[] = "/tmp/carve-migrate-src-XXXXXX",
	     out_path[] = "/tmp/carve-migrate-out-XXXXXX";
	int r = temp_with(xml_path, xml), ofd = -1;
	if (r >= 0 && (r = temp_with(src_path, src_xml)) < 0)
		unlink(xml_path);
	if (r >= 0 && (ofd = mkstemp(out_path)) < 0) {
		r = -errno;
		unlink(xml_path);
		unlink(src_path);
	}
	if (r < 0)
		return carve_error_set(err, r, "MIGRATION_FAILED", "cannot make a temporary file: %s", strerror(-r));
	carve_model_unlock(ctx->model);
	if (ctx->writers_release)
		ctx->writers_release(ctx->writers_data);
	int status = -1;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(ofd, 1);
		dup2(ofd, 2);
		int nul = open("/dev/null", O_RDONLY);
		if (nul >= 0)
			dup2(nul, 0);
		execl(command, command, vm, name, dest, xml_path, src_path, (char *)NULL);
		_exit(127);
	}
	while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (ctx->writers_reacquire)
		ctx->writers_reacquire(ctx->writers_data);
	carve_model_wrlock(ctx->model);
	char tail[512] = ""; /* the end of its output, where tools say why */
	off_t size = lseek(ofd, 0, SEEK_END);
	off_t from = size > (off_t)sizeof(tail) - 1 ? size - (off_t)sizeof(tail) + 1 : 0;
	ssize_t n = pread(ofd, tail, sizeof(tail) - 1, from);
	tail[n > 0 ? n : 0] = '\0';
	for (char *c = tail; *c; c++)
		if (*c == '\n' || *c == '\r')
			*c = ' ';
	close(ofd);
	unlink(out_path);
	unlink(xml_path);
	unlink(src_path);
	if (pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (pid <= 0)
		return carve_error_set(err, -EIO, "MIGRATION_FAILED", "cannot run the migrate command %s", command);
	return carve_error_set(err, -EIO, "MIGRATION_FAILED", "the migrate command %s %s %d: %s", command,
			       WIFEXITED(status) ? "exited with" : "was killed by signal",
			       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), tail[0] ? tail : "(no output)");
}

/* The hostdevs of one side: the destination's (peer: the same UUIDs for
 * mdevs, its own VFs for VF-backed vGPUs) or the source's, which the
 * domain has now. */
static int side_xml(const struct carve_obj_vm *vm, bool peer, char **xml, struct carve_error *err)
{
	struct carve_emit_vgpu ev[CARVE_MAX_VGPUS_PER_VM];
	bool display = false;
	size_t n = 0;
	for (uint32_t i = 0; i < vm->n_vgpus && n < CARVE_MAX_VGPUS_PER_VM; i++, n++) {
		const struct carve_obj_vgpu *v = vm->vgpus[i];
		memset(&ev[n], 0, sizeof(ev[n]));
		carve_strlcpy(ev[n].uuid, v->uuid, sizeof(ev[n].uuid));
		ev[n].impl = v->type->impl;
		carve_strlcpy(ev[n].device_pci, peer ? v->peer_device_pci : v->device_pci, sizeof(ev[n].device_pci));
		carve_strlcpy(ev[n].model_name, v->type->model_name, sizeof(ev[n].model_name));
		ev[n].display = (v->type->impl == CARVE_IMPL_NVIDIA_MDEV || v->type->impl == CARVE_IMPL_GVT_G) && !display;
		display |= ev[n].display;
	}
	return carve_emit_libvirt_hostdevs(ev, n, xml, err);
}

/* One write on a running VM, its row locked (carve_ops_vm_lock_begin),
 * retried when the commit meets another placement's locks in a deadlock;
 * the model's VM reloaded after the commit.  fn returns < 0 to refuse (the
 * transaction is rolled back). */
typedef int (*vm_write_fn)(struct carve_ctx *ctx, struct carve_obj_vm *vm, void *data, struct carve_error *err);

static int write_vm(struct carve_ctx *ctx, const char *uuid, const char *verb, vm_write_fn fn, void *data,
		    struct carve_error *err)
{
	struct carve_obj_vm *vm;
	int r;
	for (int attempt = 0;; attempt++) {
		if ((r = carve_ops_vm_lock_begin(ctx, uuid, verb, 1u << CARVE_POWER_RUNNING, &vm, err)) < 0)
			return r;
		if ((r = carve_ops_end(ctx, fn(ctx, vm, data, err), err)) != -EAGAIN || attempt == 8)
			break;
		carve_error_clear(err);
	}
	return r < 0 ? r : carve_model_reload_vm(ctx->model, ctx->db, uuid, err);
}

static int not_migrating(const char *uuid, struct carve_error *err)
{
	return carve_error_set(err, -EINVAL, "VM_NOT_MIGRATING", "VM %s is not migrating", uuid);
}

struct sides {
	char src[37], dst[37];
	const char *why; /* abort: the reason recorded */
	bool forgotten;  /* abort: nothing had been made, nothing to hand over */
};

/* Step 4's commit: the VM and its vGPUs resident on the destination, the
 * source's side handed to the source to release. */
static int switch_sides(struct carve_ctx *ctx, struct carve_obj_vm *vm, void *data, struct carve_error *err)
{
	struct sides *sd = data;
	if (vm->migration != CARVE_MIGRATION_PREPARED || !vm->resident_on)
		return vm->migration == CARVE_MIGRATION_NONE ? not_migrating(vm->uuid, err)
							     : carve_ops_vm_migrating(ctx, vm, "vm-migrate-confirm", err);
	carve_strlcpy(sd->src, vm->resident_on->uuid, sizeof(sd->src));
	carve_strlcpy(sd->dst, vm->migration_peer, sizeof(sd->dst));
	int r = carve_repo_vm_migration_switch(ctx->db, vm->uuid, sd->dst, sd->src, NULL, err);
	if (r >= 0)
		r = carve_repo_vm_set_error(ctx->db, vm->uuid, NULL, err);
	if (r >= 0)
		r = carve_pool_hand_over(ctx, sd->src, vm->uuid, err);
	return r < 0 ? r : carve_pool_note_vm(ctx, vm->uuid, err);
}

/* Step 4.  *released: the source finished within the wait (else it
 * finishes there: the VM runs on the destination either way). */
static int confirm(struct carve_ctx *ctx, const char *uuid, bool *released, char dest_label[256],
		   struct carve_error *err)
{
	struct sides sd = {0};
	int r = write_vm(ctx, uuid, "vm-migrate-confirm", switch_sides, &sd, err);
	if (r < 0)
		return r;
	carve_crash_point("migrate-switched");
	const struct carve_obj_host *h = carve_model_host(ctx->model, sd.dst);
	carve_strlcpy(dest_label, h ? h->name_label : sd.dst, 256);
	struct carve_error e = {0};
	*released = hand_and_wait(ctx, uuid, sd.src, CARVE_MIGRATION_RELEASING, &e) == 0;
	return 0;
}

/* An abort's commit: 'aborting' handed to the destination, which removes
 * what it made; one no one took up yet is simply forgotten. */
static int give_up(struct carve_ctx *ctx, struct carve_obj_vm *vm, void *data, struct carve_error *err)
{
	struct sides *sd = data;
	enum carve_migration ph = vm->migration;
	if (ph == CARVE_MIGRATION_NONE)
		return not_migrating(vm->uuid, err);
	if (ph == CARVE_MIGRATION_RELEASING)
		return carve_error_set(err, -EBUSY, "MIGRATION_DONE",
				       "VM %s runs on its destination already; its source releases what it held", vm->uuid);
	if (ph == CARVE_MIGRATION_PREPARING && vm->claimed_by[0])
		return carve_ops_vm_migrating(ctx, vm, "vm-migrate-abort", err);
	carve_strlcpy(sd->dst, vm->migration_peer, sizeof(sd->dst));
	sd->forgotten = ph == CARVE_MIGRATION_PREPARING; /* unclaimed: nothing was made */
	int r = sd->forgotten ? carve_repo_vm_migration_clear(ctx->db, vm->uuid, err)
			      : carve_repo_vm_set_migration(ctx->db, vm->uuid, CARVE_MIGRATION_ABORTING, sd->dst, NULL, err);
	if (r >= 0)
		r = carve_repo_vm_set_error(ctx->db, vm->uuid, sd->why, err);
	if (r >= 0 && !sd->forgotten)
		r = carve_pool_hand_over(ctx, sd->dst, vm->uuid, err);
	return r < 0 ? r : carve_pool_note_vm(ctx, vm->uuid, err);
}

/* Give a migration up, why recorded on the VM.  *removed: the destination
 * finished within the wait. */
static int abort_move(struct carve_ctx *ctx, const char *uuid, const char *why, bool *removed, struct carve_error *err)
{
	struct sides sd = {.why = why};
	*removed = false;
	int r = write_vm(ctx, uuid, "vm-migrate-abort", give_up, &sd, err);
	if (r < 0)
		return r;
	struct carve_error e = {0};
	*removed = sd.forgotten || hand_and_wait(ctx, uuid, sd.dst, CARVE_MIGRATION_ABORTING, &e) == 0;
	return 0;
}

static int migrated(const char *vm, const char *dest, bool released, json_t **result)
{
	*result = json_pack("{s:s, s:s, s:s, s:b}", "vm", vm, "migration", "done", "resident-on", dest,
			    "source-released", released);
	return *result ? 0 : -ENOMEM;
}

int carve_op_vm_migrate(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err)
{
	char uuid[37], dst[37];
	const char *to;
	struct carve_obj_vm *vm;
	int r;
	if ((r = carve_arg_uuid(args, "uuid", true, uuid, err)) < 0 || (r = carve_arg_str(args, "host", true, &to, err)) < 0)
		return r;
	const struct carve_obj_host *h = carve_pool_host_named(ctx, to, err);
	if (!h)
		return err->code;
	carve_strlcpy(dst, h->uuid, sizeof(dst));
	bool again = false; /* a migration to the same host prepared already: go on with it */
	for (int attempt = 0;; attempt++) {
		if ((r = carve_ops_vm_lock_begin(ctx, uuid, "vm-migrate", 1u << CARVE_POWER_RUNNING, &vm, err)) < 0)
			return r;
		if (vm->migration == CARVE_MIGRATION_PREPARED && strcmp(vm->migration_peer, dst) == 0) {
			again = true;
			carve_db_rollback(ctx->db);
			break;
		}
		if (vm->migration != CARVE_MIGRATION_NONE) {
			r = carve_ops_vm_migrating(ctx, vm, "vm-migrate", err);
			carve_db_rollback(ctx->db);
			return r;
		}
		r = intend(ctx, uuid, carve_model_host(ctx->model, dst), err);
		if ((r = carve_ops_end(ctx, r, err)) != -EAGAIN || attempt == 8)
			break;
		carve_error_clear(err);
	}
	if (r < 0 || (r = carve_model_reload_vm(ctx->model, ctx->db, uuid, err)) < 0)
		return r;
	if (!again) {
		carve_crash_point("migrate-reserved");
		if ((r = hand_and_wait(ctx, uuid, dst, CARVE_MIGRATION_PREPARING, err)) < 0)
			return r;
	}
	/* 3. libvirt */
	vm = carve_model_vm(ctx->model, uuid);
	h = carve_model_host(ctx->model, dst);
	if (!vm || !h)
		return carve_ops_not_found("vm", uuid, err);
	_cleanup_free_ char *xml = NULL, *src_xml = NULL;
	if ((r = side_xml(vm, true, &xml, err)) < 0 || (r = side_xml(vm, false, &src_xml, err)) < 0)
		return r;
	char cmd[512], dest_label[256], name[256];
	virsh_command(vm, h, cmd);
	carve_strlcpy(dest_label, h->name_label, sizeof(dest_label));
	carve_strlcpy(name, vm->name_label, sizeof(name));
	const char *dest_name = h->hostname && *h->hostname ? h->hostname : h->name_label;
	if (!ctx->migrate_command || !ctx->migrate_command[0]) {
		*result = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "vm", uuid, "migration", "prepared", "destination",
				    dest_label, "libvirt", cmd, "destination-hostdevs", xml, "next",
				    "move the VM with libvirt (its domain XML's hostdevs replaced by destination-hostdevs), "
				    "then vm-migrate-confirm; or vm-migrate-abort to give the move up");
		return *result ? 0 : -ENOMEM;
	}
	char dest_host[256];
	carve_strlcpy(dest_host, dest_name, sizeof(dest_host));
	r = run_command(ctx, ctx->migrate_command, uuid, name, dest_host, xml, src_xml, err);
	if (r < 0) {
		_cleanup_free_ char *why = carve_strdupf("%s: %s", err->id, err->message);
		bool removed;
		struct carve_error e = {0};
		abort_move(ctx, uuid, why, &removed, &e);
		return r; /* the VM runs on its source, as before */
	}
	carve_crash_point("migrate-command-done");
	bool released = false;
	if ((r = confirm(ctx, uuid, &released, dest_label, err)) < 0)
		return r;
	return migrated(uuid, dest_label, released, result);
}

int carve_op_vm_migrate_confirm(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err)
{
	char uuid[37], dest_label[256];
	bool released = false;
	int r = carve_arg_uuid(args, "uuid", true, uuid, err);
	if (r < 0 || (r = confirm(ctx, uuid, &released, dest_label, err)) < 0)
		return r;
	return migrated(uuid, dest_label, released, result);
}

int carve_op_vm_migrate_abort(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err)
{
	char uuid[37];
	bool removed = false;
	int r = carve_arg_uuid(args, "uuid", true, uuid, err);
	if (r < 0 ||
	    (r = abort_move(ctx, uuid, "MIGRATION_ABORTED: vm-migrate-abort: the VM stays on its source", &removed, err)) < 0)
		return r;
	*result = json_pack("{s:s, s:s, s:b}", "vm", uuid, "migration", "aborted", "destination-released", removed);
	return *result ? 0 : -ENOMEM;
}

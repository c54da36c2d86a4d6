/* verbs_vm.c - VMs and vGPUs: define, start (place + create), shut down.
 *
 * vm-start follows "write intent, act, then confirm":
 *   1. one transaction places every vGPU of the VM (all or nothing), records
 *      scheduled_pgpu + state 'reserved' and the VM as 'starting', commits;
 *   2. the host backend creates each device and writes its vgpu_params;
 *   3. a second transaction confirms: resident_on, state 'running'.
 * A failure in 2 removes what was created and releases the reservation, so no
 * capacity leaks; a crash between 1 and 3 is finished by host-reconcile,
 * which rolls an interrupted start back and an interrupted shutdown forward.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "model/model.h"
#include "place/place.h"
#include "records.h"
#include "snapshot.h"
#include "util/cleanup.h"
#include "util/uuid.h"
#include "verbs.h"
#include "vm.h"


#define CARVE_MAX_VMS 65536
#define CARVE_MAX_VGPUS_PER_VM 16

static int vm_state(struct carve_ctx *ctx, const char *vm, char state[16], int32_t *numa, struct carve_error *err)
{
	_cleanup_rows_ struct carve_rows *rows = NULL;
	int r = carve_db_execf(ctx->db, &rows, err, "SELECT power_state, numa_node FROM vm WHERE uuid=$1", 1, vm);
	if (r < 0)
		return r;
	if (rows->nrows == 0)
		return carve_error_set(err, -ENOENT, "UUID_NOT_FOUND", "no vm with uuid %s", vm);
	snprintf(state, 16, "%s", carve_rows_cell(rows, 0, 0));
	if (numa)
		*numa = atoi(carve_rows_cell(rows, 0, 1));
	return 0;
}

static int require_halted(struct carve_ctx *ctx, const char *vm, const char *what, struct carve_error *err)
{
	char st[16];
	int r = vm_state(ctx, vm, st, NULL, err);
	if (r < 0)
		return r;
	if (strcmp(st, "halted") != 0)
		return carve_error_set(err, -EBUSY, "VM_BAD_POWER_STATE", "VM %s is %s; %s needs it halted", vm, st, what);
	return 0;
}

/* vgpu_params syntax: key=value[,key=value]; keys [a-z][a-z0-9_]*, values
 * [A-Za-z0-9_.:-]*, at most 255 bytes in all.  Strict because it is written
 * to a kernel attribute. */
int carve_extra_args_valid(const char *s, struct carve_error *err)
{
	if (strlen(s) > 255)
		return carve_error_set(err, -EINVAL, "INVALID_VALUE", "extra-args is longer than 255 characters");
	const char *p = s;
	while (*p) {
		if (!islower((unsigned char)*p))
			goto bad;
		while (islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '_')
			p++;
		if (*p++ != '=')
			goto bad;
		while (isalnum((unsigned char)*p) || *p == '_' || *p == '.' || *p == ':' || *p == '-')
			p++;
		if (*p == ',' && p[1])
			p++;
		else if (*p)
			goto bad;
	}
	return 0;
bad:
	return carve_error_set(err, -EINVAL, "INVALID_VALUE",
			       "invalid extra-args '%.64s' (expected key=value[,key=value], e.g. frame_rate_limiter=0)", s);
}

/* ---- VM ---- */

int carve_op_vm_create(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err)
{
	char uuid[37];
	const char *label, *desc;
	int64_t numa = -1;
	long n;
	int r;
	if ((r = carve_arg_str(args, "name-label", true, &label, err)) < 0 ||
	    (r = carve_arg_str(args, "name-description", false, &desc, err)) < 0 ||
	    (r = carve_arg_uuid(args, "uuid", false, uuid, err)) < 0 ||
	    (r = carve_arg_int(args, "numa-node", false, -1, 1023, &numa, err)) < 0)
		return r;
	if (strlen(label) > 255 || (desc && strlen(desc) > 255))
		return carve_error_set(err, -EINVAL, "INVALID_VALUE", "name-label/name-description longer than 255 characters");
	if (!uuid[0])
		carve_uuid_generate(uuid);
	char numa_s[16];
	snprintf(numa_s, sizeof(numa_s), "%lld", (long long)numa);
	if ((r = carve_db_begin(ctx->db, err)) < 0)
		return r;
	_cleanup_rows_ struct carve_rows *rows = NULL;
	r = carve_db_execf(ctx->db, &rows, err, "SELECT COUNT(*) FROM vm", 0);
	if (r >= 0 && (n = atol(carve_rows_cell(rows, 0, 0))) >= CARVE_MAX_VMS)
		r = carve_error_set(err, -ENOSPC, "LIMIT_REACHED", "too many VMs (limit %d)", CARVE_MAX_VMS);
	if (r >= 0)
		r = carve_db_execf(ctx->db, NULL, err,
				   "INSERT INTO vm (uuid, name_label, name_description, numa_node) VALUES ($1,$2,$3,$4)", 4,
				   uuid, label, desc ? desc : "", numa_s);
	if (r == -EEXIST)
		carve_error_reset(err, -EEXIST, "UUID_ALREADY_EXISTS", "a VM with uuid %s already exists", uuid);
	if ((r = carve_db_end(ctx->db, r, err)) < 0)
		return r;
	*result = json_pack("{s:s}", "uuid", uuid);
	return 0;
}

static int vm_destroy(struct carve_ctx *ctx, const char *vm, struct carve_error *err)
{
	int r;
	if ((r = require_halted(ctx, vm, "vm-destroy", err)) < 0 ||
	    (r = carve_db_execf(ctx->db, NULL, err, "DELETE FROM vgpu WHERE vm_uuid=$1", 1, vm)) < 0)
		return r;
	return carve_db_execf(ctx->db, NULL, err, "DELETE FROM vm WHERE uuid=$1", 1, vm);
}

int carve_op_vm_destroy(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err)
{
	char uuid[37];
	int r = carve_arg_uuid(args, "uuid", true, uuid, err);
	if (r < 0 || (r = carve_db_begin(ctx->db, err)) < 0)
		return r;
	if ((r = carve_db_end(ctx->db, vm_destroy(ctx, uuid, err), err)) < 0)
		return r;
	*result = json_object();
	return 0;
}

int carve_op_vm_param_set(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err)
{
	char uuid[37];
	const char *label, *desc, *numa_s;
	int64_t numa = -1;
	int r;
	if ((r = carve_arg_uuid(args, "uuid", true, uuid, err)) < 0 ||
	    (r = carve_arg_str(args, "name-label", false, &label, err)) < 0 ||
	    (r = carve_arg_str(args, "name-description", false, &desc, err)) < 0 ||
	    (r = carve_arg_str(args, "numa-node", false, &numa_s, err)) < 0 ||
	    (r = carve_arg_int(args, "numa-node", false, -1, 1023, &numa, err)) < 0)
		return r;
	if ((label && strlen(label) > 255) || (desc && strlen(desc) > 255))
		return carve_error_set(err, -EINVAL, "INVALID_VALUE", "name-label/name-description longer than 255 characters");
	char nbuf[16];
	snprintf(nbuf, sizeof(nbuf), "%lld", (long long)numa);
	if ((r = carve_db_begin(ctx->db, err)) < 0)
		return r;
	char st[16];
	r = vm_state(ctx, uuid, st, NULL, err);
	if (r >= 0)
		r = carve_db_execf(ctx->db, NULL, err,
				   "UPDATE vm SET name_label=COALESCE($2, name_label), "
				   "name_description=COALESCE($3, name_description), numa_node=COALESCE($4, numa_node) "
				   "WHERE uuid=$1",
				   4, uuid, label, desc, numa_s ? nbuf : NULL);
	if ((r = carve_db_end(ctx->db, r, err)) < 0)
		return r;
	*result = json_object();
	return 0;
}

/* ---- vGPU definitions ---- */

static int type_info(struct carve_ctx *ctx, const char *type, struct carve_rows **rows, struct carve_error *err)
{
	int r = carve_db_execf(ctx->db, rows, err,
			       "SELECT uuid, vendor_name, model_name, multi_vgpu, implementation FROM vgpu_type WHERE uuid=$1",
			       1, type);
	if (r >= 0 && (*rows)->nrows == 0)
		return carve_error_set(err, -ENOENT, "UUID_NOT_FOUND", "no vgpu-type with uuid %s", type);
	return r;
}

/* The lowest free vGPU slot ("device") of a VM; -ENOSPC when all are taken. */
int carve_vm_free_slot(struct carve_ctx *ctx, const char *vm, char out[16], struct carve_error *err)
{
	_cleanup_rows_ struct carve_rows *rows = NULL;
	int r = carve_db_execf(ctx->db, &rows, err, "SELECT device FROM vgpu WHERE vm_uuid=$1", 1, vm);
	if (r < 0)
		return r;
	for (uint32_t dev = 0; dev < CARVE_MAX_VGPUS_PER_VM; dev++) {
		bool used = false;
		for (size_t i = 0; i < rows->nrows && !used; i++)
			used = (uint32_t)atoi(carve_rows_cell(rows, i, 0)) == dev;
		if (!used) {
			snprintf(out, 16, "%u", dev);
			return 0;
		}
	}
	return carve_error_set(err, -ENOSPC, "LIMIT_REACHED", "VM %s already has %d vGPUs", vm, CARVE_MAX_VGPUS_PER_VM);
}

static int vgpu_create(struct carve_ctx *ctx, json_t *args, char uuid[37], struct carve_error *err)
{
	char vm[37], group[37], type[37];
	const char *device, *extra;
	int r;
	if ((r = carve_arg_uuid(args, "vm-uuid", true, vm, err)) < 0 ||
	    (r = carve_arg_uuid(args, "gpu-group-uuid", true, group, err)) < 0 ||
	    (r = carve_arg_uuid(args, "vgpu-type-uuid", false, type, err)) < 0 ||
	    (r = carve_arg_str(args, "device", false, &device, err)) < 0 ||
	    (r = carve_arg_str(args, "extra-args", false, &extra, err)) < 0)
		return r;
	if (extra && (r = carve_extra_args_valid(extra, err)) < 0)
		return r;
	if (!type[0]) /* no type means passthrough, as in XAPI */
		carve_uuid_from_name(CARVE_UUID_NS, "vgpu-type/passthrough", type);
	uint32_t dev = 0;
	if (device && (carve_parse_u32(device, &dev) < 0 || dev >= CARVE_MAX_VGPUS_PER_VM))
		return carve_error_set(err, -EINVAL, "INVALID_VALUE", "device must be a slot number from 0 to %d, not '%.32s'",
				       CARVE_MAX_VGPUS_PER_VM - 1, device);
	if ((r = require_halted(ctx, vm, "vgpu-create", err)) < 0)
		return r;
	_cleanup_rows_ struct carve_rows *g = NULL, *t = NULL, *sup = NULL, *others = NULL;
	if ((r = carve_db_execf(ctx->db, &g, err, "SELECT uuid FROM gpu_group WHERE uuid=$1", 1, group)) < 0)
		return r;
	if (g->nrows == 0)
		return carve_error_set(err, -ENOENT, "UUID_NOT_FOUND", "no gpu-group with uuid %s", group);
	if ((r = type_info(ctx, type, &t, err)) < 0)
		return r;
	if ((r = carve_db_execf(ctx->db, &sup, err,
				"SELECT COUNT(*) FROM pgpu_type pt JOIN pgpu p ON p.uuid = pt.pgpu_uuid WHERE "
				"p.gpu_group_uuid=$1 AND pt.vgpu_type_uuid=$2 AND pt.supported=1",
				2, group, type)) < 0)
		return r;
	if (atol(carve_rows_cell(sup, 0, 0)) == 0)
		return carve_error_set(err, -EINVAL, "VGPU_TYPE_NOT_SUPPORTED",
				       "vGPU type %s (%s) is not supported by any PGPU of GPU group %s", type,
				       carve_rows_cell(t, 0, 2), group);
	/* Several vGPUs in one VM: every pair must allow it (multi-vGPU types of one vendor). */
	if ((r = carve_db_execf(ctx->db, &others, err,
				"SELECT v.device, t.vendor_name, t.multi_vgpu, t.model_name FROM vgpu v JOIN vgpu_type t ON "
				"t.uuid = v.vgpu_type_uuid WHERE v.vm_uuid=$1 ORDER BY v.device",
				1, vm)) < 0)
		return r;
	if (others->nrows >= CARVE_MAX_VGPUS_PER_VM)
		return carve_error_set(err, -ENOSPC, "LIMIT_REACHED", "VM %s already has %d vGPUs", vm,
				       CARVE_MAX_VGPUS_PER_VM);
	for (size_t i = 0; i < others->nrows; i++) {
		bool ok = strcmp(carve_rows_cell(t, 0, 3), "1") == 0 && strcmp(carve_rows_cell(others, i, 2), "1") == 0 &&
			  strcmp(carve_rows_cell(t, 0, 1), carve_rows_cell(others, i, 1)) == 0;
		if (!ok)
			return carve_error_set(err, -EINVAL, "VGPU_TYPE_NOT_COMPATIBLE",
					       "vGPU type %s cannot share VM %s with its %s vGPU: only multi-vGPU "
					       "(full-size) types of one vendor can be combined",
					       carve_rows_cell(t, 0, 2), vm, carve_rows_cell(others, i, 3));
	}
	char devs[16];
	if (device)
		snprintf(devs, sizeof(devs), "%u", dev);
	else if ((r = carve_vm_free_slot(ctx, vm, devs, err)) < 0)
		return r;
	carve_uuid_generate(uuid);
	r = carve_db_execf(ctx->db, NULL, err,
			   "INSERT INTO vgpu (uuid, vm_uuid, vgpu_type_uuid, gpu_group_uuid, device, extra_args) "
			   "VALUES ($1,$2,$3,$4,$5,$6)",
			   6, uuid, vm, type, group, devs, extra ? extra : "");
	if (r == -EEXIST)
		return carve_error_reset(err, -EEXIST, "DEVICE_ALREADY_EXISTS", "VM %s already has a vGPU in slot %s", vm,
					 devs);
	return r;
}

int carve_op_vgpu_create(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err)
{
	char uuid[37];
	int r = carve_db_begin(ctx->db, err);
	if (r < 0 || (r = carve_db_end(ctx->db, vgpu_create(ctx, args, uuid, err), err)) < 0)
		return r;
	*result = json_pack("{s:s}", "uuid", uuid);
	return 0;
}

static int vgpu_vm(struct carve_ctx *ctx, const char *vgpu, char vm[37], struct carve_error *err)
{
	_cleanup_rows_ struct carve_rows *rows = NULL;
	int r = carve_db_execf(ctx->db, &rows, err, "SELECT vm_uuid FROM vgpu WHERE uuid=$1", 1, vgpu);
	if (r < 0)
		return r;
	if (rows->nrows == 0)
		return carve_error_set(err, -ENOENT, "UUID_NOT_FOUND", "no vgpu with uuid %s", vgpu);
	snprintf(vm, 37, "%s", carve_rows_cell(rows, 0, 0));
	return 0;
}

int carve_op_vgpu_destroy(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err)
{
	char uuid[37], vm[37];
	int r = carve_arg_uuid(args, "uuid", true, uuid, err);
	if (r < 0 || (r = carve_db_begin(ctx->db, err)) < 0)
		return r;
	r = vgpu_vm(ctx, uuid, vm, err);
	if (r >= 0)
		r = require_halted(ctx, vm, "vgpu-destroy", err);
	if (r >= 0)
		r = carve_db_execf(ctx->db, NULL, err, "DELETE FROM vgpu WHERE uuid=$1", 1, uuid);
	if ((r = carve_db_end(ctx->db, r, err)) < 0)
		return r;
	*result = json_object();
	return 0;
}

int carve_op_vgpu_param_set(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err)
{
	char uuid[37], vm[37];
	const char *extra;
	int r;
	if ((r = carve_arg_uuid(args, "uuid", true, uuid, err)) < 0 ||
	    (r = carve_arg_str(args, "extra-args", true, &extra, err)) < 0 || (r = carve_extra_args_valid(extra, err)) < 0)
		return r;
	if ((r = carve_db_begin(ctx->db, err)) < 0)
		return r;
	r = vgpu_vm(ctx, uuid, vm, err);
	/* vgpu_params are read by the vendor manager when the VM starts. */
	if (r >= 0)
		r = require_halted(ctx, vm, "changing extra-args", err);
	if (r >= 0)
		r = carve_db_execf(ctx->db, NULL, err, "UPDATE vgpu SET extra_args=$2 WHERE uuid=$1", 2, uuid, extra);
	if ((r = carve_db_end(ctx->db, r, err)) < 0)
		return r;
	*result = json_object();
	return 0;
}

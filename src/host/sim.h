/* sim.h - the simulated host: an in-memory host built from a profile
 * (profile.h) that reports the inventory sysfs discovery would report for the
 * tree carve-mkfixture generates from the same profile, and enforces the
 * vendor drivers' rules on create/remove/set_params:
 *   - available instances per type and parent; passthrough is exclusive;
 *   - NVIDIA: one type per physical GPU unless mixed-size mode, where a
 *     framebuffer budget applies (carve_hw_gpu_nv_capacity);
 *   - SR-IOV: one vGPU per VF; vendor VFIO sets a free VF's
 *     current_vgpu_type and the creatable list shrinks; AMD hands out a free
 *     VF (binds it to vfio-pci);
 *   - SR-IOV VFs as the kernel keeps them: a profile may boot with none
 *     (numvfs: 0, as after a reboot), when the GPU still publishes its
 *     catalog types with none available.  A VF-backed create enables what the
 *     type needs first, as the sysfs backend does (NVIDIA: sriov_totalvfs;
 *     AMD MxGPU: the type's VF count, which also decides the one type gim
 *     publishes), under the kernel's rules for sriov_numvfs: a non-zero count
 *     changes only through 0, and never while a VF is in use (-EBUSY,
 *     SRIOV_VF_IN_USE).  Enabled VFs stay when a create fails or a vGPU is
 *     removed;
 *   - GVT-g: types mix within the aperture, hidden graphics memory, fence
 *     register and scheduler-weight budgets of the GPU.
 * Errors: -ENOENT (no such PGPU / vGPU), -EINVAL (bad identifier, type not
 * supported there), -EEXIST (UUID in use), -EBUSY (incompatible with what
 * runs there), -ENOSPC (no capacity / no free VF), -EOPNOTSUPP, -EIO
 * (injected), with kernel-style messages naming the device.
 *
 * Persistence: with a state path the sim writes its devices and the enabled
 * VF count of every SR-IOV GPU there as JSON after every change (temporary
 * file and rename: carve_file_replace, no fsync, since a reboot ends kernel
 * state anyway) and reloads them on open
 * instead of the profile's boot state, so state survives a killed process as
 * kernel state survives carve - and removing the file is a reboot: the
 * profile's boot vGPUs and VF counts come back.  The state names its
 * profile; opening it with another profile fails.  One process at a time per
 * state file.
 *
 * Fault injection, for rollback tests:
 *   - profile key `fail_create_after: N`: the first N vgpu_create calls of
 *     an opened host succeed (if the rules allow), every later one fails;
 *   - environment CARVE_SIM_FAIL_CREATE=N (read at open): exactly the Nth
 *     vgpu_create call (1-based) fails.
 * An injected failure returns -EIO (id SIM_INJECTED_FAILURE) and changes
 * nothing.  Boot vGPUs and reloaded state do not count as calls.
 *
 * A sim host is used by one thread at a time, like every backend.
 */
#pragma once

#include "host.h"
#include "profile.h"

#define CARVE_SIM_FAIL_ENV "CARVE_SIM_FAIL_CREATE"

/* Like carve_host_open_sim() with a profile already loaded and validated;
 * the profile is not retained. */
int carve_host_open_sim_profile(const struct carve_profile *p, const char *state_path, struct carve_host **out,
				struct carve_error *err);

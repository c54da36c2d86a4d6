/* internal.h - shared by the files of src/emit only; not a public interface.
 *
 * struct emit_buf is an append-only string builder that remembers an
 * allocation failure instead of reporting it at every call: emitters write
 * everything, then ask emit_buf_finish() once, which hands the string over
 * (or reports -ENOMEM) and always leaves the buffer empty.  emit_buf_free()
 * accepts an empty or finished buffer, so _cleanup_(emit_buf_free) is safe on
 * every path.
 *
 * emit_check_vgpus() validates and normalises a caller's vGPU list once, so
 * the libvirt and QEMU emitters share one definition of "valid".
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "emit/emit.h"
#include "util/pci.h"
#include "util/uuid.h"

struct emit_buf {
	char *s;
	size_t len, cap;
	bool oom;
};

void emit_buf_free(struct emit_buf *b);
void emit_buf_add(struct emit_buf *b, const char *s);
void emit_buf_addf(struct emit_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append s with & < > ' " replaced by entities (for text and attributes). */
void emit_buf_add_xml(struct emit_buf *b, const char *s);
/* On success *out owns the string ("" when nothing was written). */
int emit_buf_finish(struct emit_buf *b, char **out, struct carve_error *err);

/* A vGPU after validation: canonical forms, and the model name made safe
 * to sit inside an XML comment (no "--", ASCII only). */
struct emit_dev {
	char uuid[CARVE_UUID_STRLEN + 1];
	char pci[CARVE_PCI_STRLEN + 1];
	struct carve_pci_addr addr;
	enum carve_impl impl;
	bool mdev;
	bool display;
	char label[128];
};

bool emit_impl_is_mdev(enum carve_impl impl);

/* Validate v[0..n) (UUIDs, PCI addresses, implementation, no duplicate
 * UUID or PCI device, the display rule) into a new array *out (NULL when
 * n == 0; free() it).  -EINVAL with err filled on the first bad field. */
int emit_check_vgpus(const struct carve_emit_vgpu *v, size_t n, struct emit_dev **out,
                     struct carve_error *err);

/* Validate a VM description.  need_size: vcpus and memory_mib must be set
 * (the domain document); otherwise memory_mib is required only when a
 * memory backend is needed (hugepages or a NUMA node).  uuid gets the VM
 * UUID in lower case. */
int emit_check_vm(const struct carve_emit_vm *vm, bool need_size, char uuid[CARVE_UUID_STRLEN + 1],
                  struct carve_error *err);

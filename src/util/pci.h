/* pci.h - PCI addresses (DDDD:BB:SS.F) and ids.
 *
 * carve_pci_parse() is strict: exactly four hex digits of domain, two of bus,
 * two of slot (< 0x20), one function digit (0-7); the short form BB:SS.F is
 * accepted and gets domain 0000.  carve_pci_format() always writes the
 * canonical long lower-case form, which is what sysfs names devices by.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define CARVE_PCI_STRLEN 12 /* "0000:82:00.0" */

struct carve_pci_addr {
	uint16_t domain;
	uint8_t bus, slot, func;
};

int carve_pci_parse(const char *s, struct carve_pci_addr *out);
bool carve_pci_valid(const char *s);
void carve_pci_format(const struct carve_pci_addr *a, char out[CARVE_PCI_STRLEN + 1]);
/* Normalise a user-supplied address into canonical form; -EINVAL if bad. */
int carve_pci_normalize(const char *s, char out[CARVE_PCI_STRLEN + 1]);
int carve_pci_cmp(const struct carve_pci_addr *a, const struct carve_pci_addr *b);

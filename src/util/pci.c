#include "pci.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

static int hexn(const char *s, size_t n, unsigned *out)
{
	unsigned v = 0;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		if (!isxdigit(c))
			return -EINVAL;
		v = v * 16 + (unsigned)(isdigit(c) ? c - '0' : tolower(c) - 'a' + 10);
	}
	*out = v;
	return 0;
}

int carve_pci_parse(const char *s, struct carve_pci_addr *out)
{
	unsigned dom = 0, bus, slot, fn;
	if (!s)
		return -EINVAL;
	size_t len = strlen(s);
	if (len == CARVE_PCI_STRLEN) {
		if (s[4] != ':' || hexn(s, 4, &dom) < 0)
			return -EINVAL;
		s += 5;
	} else if (len != 7) {
		return -EINVAL;
	}
	if (hexn(s, 2, &bus) < 0 || s[2] != ':' || hexn(s + 3, 2, &slot) < 0 || s[5] != '.' ||
	    hexn(s + 6, 1, &fn) < 0 || slot > 0x1f || fn > 7)
		return -EINVAL;
	out->domain = (uint16_t)dom;
	out->bus = (uint8_t)bus;
	out->slot = (uint8_t)slot;
	out->func = (uint8_t)fn;
	return 0;
}

bool carve_pci_valid(const char *s)
{
	struct carve_pci_addr a;
	return carve_pci_parse(s, &a) == 0;
}

void carve_pci_format(const struct carve_pci_addr *a, char out[CARVE_PCI_STRLEN + 1])
{
	snprintf(out, CARVE_PCI_STRLEN + 1, "%04x:%02x:%02x.%x", a->domain, a->bus, a->slot & 0x1fu, a->func & 7u);
}

int carve_pci_normalize(const char *s, char out[CARVE_PCI_STRLEN + 1])
{
	struct carve_pci_addr a;
	int r = carve_pci_parse(s, &a);
	if (r < 0)
		return r;
	carve_pci_format(&a, out);
	return 0;
}

int carve_pci_cmp(const struct carve_pci_addr *a, const struct carve_pci_addr *b)
{
	uint32_t x = ((uint32_t)a->domain << 16) | (a->bus << 8) | (a->slot << 3) | a->func;
	uint32_t y = ((uint32_t)b->domain << 16) | (b->bus << 8) | (b->slot << 3) | b->func;
	return x < y ? -1 : x > y;
}

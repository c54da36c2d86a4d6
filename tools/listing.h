/* listing.h - the sysfs tree of a real host's published listing (see
 * listing.c for the format).  0, or a negative errno after printing what
 * is wrong (file, device, key) on stderr. */
#pragma once

int carve_listing_write(const char *listing, const char *outdir);

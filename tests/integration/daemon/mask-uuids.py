#!/usr/bin/env python3
"""Replace every UUID with <uuid-N>, N by first appearance, so that outputs with
random VM/vGPU UUIDs compare equal when they are equal in shape."""
import re
import sys

seen = {}
pat = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def sub(m):
    u = m.group(0).lower()
    if u not in seen:
        seen[u] = "<uuid-%d>" % (len(seen) + 1)
    return seen[u]


for line in sys.stdin:
    sys.stdout.write(pat.sub(sub, line))

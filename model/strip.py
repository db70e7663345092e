#!/usr/bin/env python3
"""Strip documentation strings from a botocore service model; write it sorted and stable."""
import gzip, json, sys

def strip(o):
    if isinstance(o, dict):
        return {k: strip(v) for k, v in o.items() if k not in ("documentation", "documentationUrl")}
    if isinstance(o, list):
        return [strip(v) for v in o]
    return o

src, dst = sys.argv[1], sys.argv[2]
opener = gzip.open if src.endswith(".gz") else open
with opener(src, "rt") as f:
    model = json.load(f)
with open(dst, "w") as f:
    json.dump(strip(model), f, indent=1, sort_keys=True)
    f.write("\n")

#!/usr/bin/env python3
"""Cuts the Kubernetes OpenAPI v2 document down to the kinds deploy/ uses and every definition they reference.

Usage: extract.py swagger.json > kubernetes/definitions.json   (see ../README.md for the source and version)
The definitions are copied unchanged; the test adds strictness (no unknown fields) and Kubernetes' int-or-string and
quantity semantics when it loads them.
"""
import json
import sys

KINDS = [
    "io.k8s.api.core.v1.Namespace",
    "io.k8s.api.core.v1.ConfigMap",
    "io.k8s.api.core.v1.Secret",
    "io.k8s.api.core.v1.ServiceAccount",
    "io.k8s.api.core.v1.Service",
    "io.k8s.api.apps.v1.Deployment",
    "io.k8s.api.apps.v1.StatefulSet",
    "io.k8s.api.batch.v1.CronJob",
    "io.k8s.api.policy.v1.PodDisruptionBudget",
    "io.k8s.api.networking.v1.NetworkPolicy",
]


def refs(node, out):
    if isinstance(node, dict):
        r = node.get("$ref")
        if isinstance(r, str) and r.startswith("#/definitions/"):
            out.add(r[len("#/definitions/"):])
        for v in node.values():
            refs(v, out)
    elif isinstance(node, list):
        for v in node:
            refs(v, out)


def main(path):
    defs = json.load(open(path))["definitions"]
    keep, todo = set(), list(KINDS)
    while todo:
        name = todo.pop()
        if name in keep:
            continue
        keep.add(name)
        found = set()
        refs(defs[name], found)
        todo.extend(found - keep)
    json.dump({"definitions": {k: defs[k] for k in sorted(keep)}}, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])

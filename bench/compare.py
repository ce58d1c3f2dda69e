"""compare.py [--ordered | --helm] A.yaml B.yaml: are two YAML streams the same resources?

Resources are matched by (apiVersion, kind, namespace, name), so the order of
documents and of keys within them does not matter, and YAML spellings of the
same value ("80" quoted or not as a string, block or flow style) compare
equal. Everything else, list order included, must match exactly. With
--ordered, the documents must also come in the same order. With --helm, A is
`helm template`'s output, read as Plumb builds a chart: its hooks (annotated
helm.sh/hook) that no phase runs (tests, rollbacks) left out, pre- and
post-install, upgrade and delete ones kept, and fields whose value is null,
in A and B, left out as a build leaves them out (the API server reads them
as unset).

Prints "yes" or "no" and, for "no", what differs first; exits 0, 1, or 2 when
PyYAML is missing.
"""
import json
import sys

try:
    import yaml
except ImportError:
    print("skipped (python3 has no PyYAML)")
    sys.exit(2)

LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def without_nulls(v):
    if isinstance(v, dict):
        return {k: without_nulls(x) for k, x in v.items() if x is not None}
    if isinstance(v, list):
        return [without_nulls(x) for x in v]
    return v


PHASED = {"pre-install", "pre-upgrade", "post-install", "post-upgrade", "pre-delete", "post-delete"}


def is_hook(doc):
    """A hook Plumb leaves out of a chart's resources: one no phase runs."""
    hook = ((doc.get("metadata") or {}).get("annotations") or {}).get("helm.sh/hook")
    return hook is not None and not PHASED & {h.strip() for h in str(hook).split(",")}


def load(path, helm=False, hooks=False):
    """The resources of path by key, the keys listed twice, and all keys in order."""
    resources, dups, order = {}, [], []
    with open(path) as f:
        for doc in yaml.load_all(f, Loader=LOADER):
            if doc is None or (hooks and is_hook(doc)):
                continue
            if helm:
                doc = without_nulls(doc)
            meta = doc.get("metadata") or {}
            key = (doc.get("apiVersion"), doc.get("kind"), meta.get("namespace"), meta.get("name"))
            if key in resources:
                dups.append(key)
            resources[key] = doc
            order.append(key)
    return resources, dups, order


def first_difference(a, b, path=""):
    if type(a) is not type(b):
        return f"{path or '.'}: {json.dumps(a)} vs {json.dumps(b)}"
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                return f"{path}.{k}: only in {'second' if k not in a else 'first'}"
            d = first_difference(a[k], b[k], f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} items vs {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_difference(x, y, f"{path}[{i}]")
            if d:
                return d
        return None
    return None if a == b else f"{path}: {json.dumps(a)} vs {json.dumps(b)}"


def main():
    args = sys.argv[1:]
    ordered = args[:1] == ["--ordered"]
    helm = args[:1] == ["--helm"]
    paths = args[1:] if ordered or helm else args
    a, dups_a, order_a = load(paths[0], helm, helm)
    b, dups_b, order_b = load(paths[1], helm)
    problems = [f"duplicate {k} in {paths[i]}" for i, d in enumerate((dups_a, dups_b)) for k in d]
    for k in sorted(set(a) | set(b), key=lambda k: tuple(map(str, k))):
        if k not in a or k not in b:
            problems.append(f"{'/'.join(map(str, k))} only in {paths[0] if k in a else paths[1]}")
        else:
            d = first_difference(a[k], b[k])
            if d:
                problems.append(f"{'/'.join(map(str, k))} {d}")
        if problems:
            break
    if ordered and not problems and order_a != order_b:
        i = next(i for i, (x, y) in enumerate(zip(order_a, order_b)) if x != y)
        problems.append(f"order: document {i + 1} is {'/'.join(map(str, order_a[i]))} vs {'/'.join(map(str, order_b[i]))}")
    if problems:
        print("no: " + problems[0])
        sys.exit(1)
    print(f"yes ({len(a)} resources)")


main()

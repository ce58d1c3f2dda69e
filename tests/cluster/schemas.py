#!/usr/bin/env python3
"""Turns the API server's OpenAPI v3 documents into Plumb's schema file.

usage: schemas.py [--enums GO_FILE] VERSION DOC.json... > schemas/k8s-vX.Y.txt

Each DOC is one group-version document (/openapi/v3/apis/apps/v1, ...).
--enums reads the string enums from the Go source the API server builds
its documents from (pkg/generated/openapi/zz_generated.openapi.go of the
k8s.io/kubernetes module) into the documents: the ones the module ships
(api/openapi-spec/v3) were dumped without them, and a server serves them.
The output keeps what a build checks and nothing else (no descriptions, no
defaults), one line per fact, so that the C side reads it with a loop over
lines and a diff of two versions reads as a change log. The format is
described in schemas/README.md.
"""
import json
import re
import sys

PREFIXES = ("io.k8s.api.", "io.k8s.apimachinery.pkg.apis.", "io.k8s.apimachinery.pkg.",
            "io.k8s.apiextensions-apiserver.pkg.apis.", "io.k8s.kube-aggregator.pkg.apis.")
# Named schemas that stand for a scalar with a rule of its own.
SCALARS = {
    "io.k8s.apimachinery.pkg.api.resource.Quantity": "quantity",
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": "int-or-string",
}


def short(name):
    for p in PREFIXES:
        if name.startswith(p):
            return name[len(p):]
    return name


class Converter:
    def __init__(self, schemas):
        self.schemas = schemas
        self.defs = {}  # short name -> list of lines, filled as reached

    def ref(self, ref):
        name = ref.rsplit("/", 1)[1]
        if name in SCALARS:
            return SCALARS[name]
        s = self.schemas[name]
        if "properties" not in s:
            return self.type_of(s, name)
        key = short(name)
        if key not in self.defs:
            self.defs[key] = None  # reached: a recursive schema stops here
            self.defs[key] = self.object_def(s, name)
        return "@" + key

    def object_def(self, s, where):
        flags = []
        if s.get("x-kubernetes-preserve-unknown-fields"):
            flags.append("preserve")
        if s.get("x-kubernetes-embedded-resource"):
            flags.append("embedded")
        # A required field with a default (a Go value, not a pointer) is
        # taken as its zero value when it is missing, and the API server's
        # own validation decides (CSIDriver.spec {}, a CRD version's
        # served: false, iscsi.lun: 0 pass; Container.name "" does not):
        # only the others are asked for.
        props = s["properties"]
        required = set(r for r in s.get("required", []) if "default" not in props.get(r, {}))
        lines = []
        for field in sorted(props, key=lambda k: k.encode()):
            t = self.type_of(props[field], where + "." + field)
            lines.append(("R " if field in required else "F ") + field + " " + t)
        return flags, lines

    def key_with_default(self, item, key):
        """A list-type map's key, with its default if it has one: server-side
        apply takes an item without the key to have the default."""
        while "$ref" in item or "allOf" in item:
            item = self.schemas[item["$ref"].rsplit("/", 1)[1]] if "$ref" in item else item["allOf"][0]
        default = item.get("properties", {}).get(key, {}).get("default")
        return key + "=" + default if isinstance(default, str) and default else key

    def type_of(self, s, where):
        if "$ref" in s:
            return self.ref(s["$ref"])
        if "allOf" in s and len(s["allOf"]) == 1:
            return self.type_of(s["allOf"][0], where)
        if s.get("x-kubernetes-int-or-string") or s.get("format") == "int-or-string":
            return "int-or-string"
        t = s.get("type")
        if t == "array":
            kind = s.get("x-kubernetes-list-type", "")
            if kind == "map":
                keys = [self.key_with_default(s.get("items", {}), k) for k in s["x-kubernetes-list-map-keys"]]
                kind = "map=" + ",".join(keys)
            elif kind == "atomic":
                kind = ""
            return "[" + kind + "]" + self.type_of(s.get("items", {}), where + "[]")
        if t == "object" or "properties" in s:
            if "properties" in s:
                # An inline object (CRDs have them) becomes a definition
                # named for where it stands.
                key = short(where)
                self.defs[key] = self.object_def(s, where)
                return "@" + key
            if isinstance(s.get("additionalProperties"), dict):
                return "{}" + self.type_of(s["additionalProperties"], where + "{}")
            return "any" if s.get("x-kubernetes-preserve-unknown-fields") else "object"
        if t == "string":
            fmt = s.get("format", "")
            base = fmt if fmt in ("byte", "date-time") else "string"
            for e in s.get("enum", []):
                assert isinstance(e, str) and "|" not in e and "\n" not in e, (where, e)
            return base + "".join("|" + e for e in s.get("enum", []))
        if t == "integer":
            return s.get("format") if s.get("format") in ("int32", "int64") else "integer"
        if t == "number":
            return "number"
        if t == "boolean":
            return "bool"
        assert t is None, (where, t)
        return "any"


GO_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')


def go_enums(path):
    """{openapi name: [(property path, values)]} from openapi-gen's Go
    source. A property path is the property's name, then "items" or
    "additionalProperties" for an enum of a list's or a map's values.
    The source's layout is openapi-gen's: one key or field per line, every
    string on one line; braces are counted with strings taken out."""
    with open(path) as f:
        lines = f.read().split("\n")
    imports = dict(re.findall(r'^\t(\w+) "([^"]+)"$', "\n".join(lines), re.M))

    def model(key):
        # "k8s.io/api/core/v1.Pod" (older) or corev1.Pod{}.OpenAPIModelName()
        m = re.fullmatch(r'"([^"]+)\.(\w+)"', key) or re.fullmatch(r'(\w+)\.(\w+)\{\}\.OpenAPIModelName\(\)', key)
        pkg = m.group(1) if key.startswith('"') else imports[m.group(1)]
        domain, _, rest = pkg.partition("/")
        return ".".join(reversed(domain.split("."))) + "." + rest.replace("/", ".") + "." + m.group(2)

    funcs = {}
    for line in lines:
        m = re.match(r'^\t\t(.+):\s+(schema_\w+)\(ref\),$', line)
        if m:
            funcs[m.group(2)] = model(m.group(1))
    enums, name, stack = {}, None, []
    for line in lines:
        m = re.match(r'^func (schema_\w+)\(', line)
        if m:
            name, stack = funcs.get(m.group(1)), []
            continue
        if name is None:
            continue
        m = re.match(r'^\s*Enum:\s*\[\]interface\{\}\{(.*)\}', line)
        if m:
            values = [json.loads('"' + v + '"') for v in GO_STRING.findall(m.group(1))]
            enums.setdefault(name, []).append(([x for x in stack if x], values))
        key = re.match(r'^\s*"([^"]+)": \{', line)
        label = key.group(1) if key else "items" if "Items:" in line else \
            "additionalProperties" if "AdditionalProperties:" in line else None
        for c in GO_STRING.sub('""', line):
            if c == "{":
                stack.append(label)
                label = None
            elif c == "}" and stack:
                stack.pop()
    return enums


def add_enums(schemas, enums):
    for name, found in enums.items():
        for path, values in found:
            s = schemas.get(name)
            if s is None:
                continue
            s = s["properties"][path[0]]
            for step in path[1:]:
                s = s[step]
            s["enum"] = values


def main():
    args = sys.argv[1:]
    enums = {}
    if args[0] == "--enums":
        enums = go_enums(args[1])
        args = args[2:]
    version, docs = args[0], args[1:]
    schemas, kinds = {}, {}
    for path in docs:
        with open(path) as f:
            doc = json.load(f)
        for name, s in doc["components"]["schemas"].items():
            schemas.setdefault(name, s)
            gvks = s.get("x-kubernetes-group-version-kind", [])
            # Meta types (DeleteOptions, WatchEvent, ...) list every group:
            # they are no resource one writes.
            if len(gvks) != 1 or name.startswith("io.k8s.apimachinery."):
                continue
            g = gvks[0]
            api = g["group"] + "/" + g["version"] if g["group"] else g["version"]
            kinds[(api, g["kind"])] = name
    add_enums(schemas, enums)
    conv = Converter(schemas)
    out = ["plumb-schemas 1", "kubernetes " + version]
    for (api, kind), name in sorted(kinds.items()):
        out.append("K %s %s %s" % (api, kind, conv.ref("#/" + name)))
    for key in sorted(conv.defs, key=lambda k: k.encode()):
        flags, lines = conv.defs[key]
        out.append(" ".join(["D", key] + flags))
        out.extend(lines)
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()

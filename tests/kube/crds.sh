#!/bin/sh
# Custom resources: plumb build's verdict on each against the schema of its
# CRD, next to the API server's on the same resource (a server-side dry run
# of the exact JSON plumb writes). Usage: crds.sh PLUMB CLUSTER_DIR; the
# last line is "crds: N passed, N failed".
set -u
. "$(dirname "$0")/checks.sh"
cd "$ROOT"

crd='CustomResourceDefinition "gadgets.example.com" {
  spec: {
    group: "example.com"
    names: { kind: "Gadget", plural: "gadgets", singular: "gadget" }
    scope: "Namespaced"
    versions: [{ name: "v1", served: true, storage: true, subresources: { status: {} }, schema: { openAPIV3Schema: {
      type: "object"
      properties: {
      status: { type: "object", properties: { phase: { type: "string", enum: ["Ready"] }, n: { type: "integer", maximum: 3 } } }
      spec: { type: "object", properties: {
        size: { type: "integer", minimum: 1, maximum: 10, multipleOf: 2 }
        ratio: { type: "number", minimum: 0, exclusiveMinimum: true, maximum: 1, exclusiveMaximum: true }
        low: { type: "number", minimum: 10.5 }
        half: { type: "number", multipleOf: 0.5 }
        huge: { type: "number", minimum: -1e300, maximum: 1e300 }
        imin: { type: "integer", minimum: 10.5 }
        f32: { type: "number", format: "float" }
        i32: { type: "integer", format: "int32", maximum: 3000000000 }
        step: { type: "number", multipleOf: 0.1 }
        name: { type: "string", pattern: "^[a-z]+$", minLength: 2, maxLength: 5 }
        word: { type: "string", maxLength: 3 }
        tags: { type: "array", minItems: 1, maxItems: 3, "x-kubernetes-list-type": "set", items: { type: "string" } }
        maybe: { type: "array", items: { type: "string", nullable: true } }
        labels: { type: "object", minProperties: 1, maxProperties: 2, additionalProperties: { type: "string" } }
        level: { type: "integer", enum: [1, 2, 3] }
        port: { type: "integer", format: "int32" }
        ip: { type: "string", format: "ipv4" }
        ip6: { type: "string", format: "ipv6" }
        net: { type: "string", format: "cidr" }
        mac: { type: "string", format: "mac" }
        id: { type: "string", format: "uuid" }
        host: { type: "string", format: "hostname" }
        day: { type: "string", format: "date" }
        at: { type: "string", format: "date-time" }
        wait: { type: "string", format: "duration" }
        data: { type: "string", format: "byte" }
        color: { type: "string", format: "hexcolor" }
        short: { type: "string", format: "k8s-short-name" }
        book: { type: "string", format: "isbn" }
        book10: { type: "string", format: "isbn10" }
        book13: { type: "string", format: "isbn13" }
        card: { type: "string", format: "creditcard" }
        link: { type: "string", format: "uri" }
        mail: { type: "string", format: "email" }
        source: { type: "object", properties: { url: { type: "string" }, path: { type: "string" } },
                  oneOf: [{ required: ["url"] }, { required: ["path"] }] }
        target: { type: "object", properties: { host: { type: "string" }, port: { type: "integer" } },
                  anyOf: [{ required: ["host"] }, { properties: { port: { minimum: 1024 } }, required: ["port"] }] }
        mode: { type: "string", allOf: [{ minLength: 2 }, { pattern: "^m" }], not: { enum: ["mx"] } }
      } } }
    } } }]
  }
}'
install=$(env_dir install "env crd { $crd }")
expect "the CRD applies" 0 "gadgets.example.com" $PLUMB apply "$install"
eventually $K wait --for condition=established --timeout=1s crd/gadgets.example.com

n=0
# agree NAME WANT SPEC [STATUS]: plumb build of a Gadget with SPEC (and
# STATUS) exits WANT (0 or 1), and the API server takes (0) or refuses (1)
# the same JSON alike: created as it is, or with a status server-side
# applied, as plumb apply does (a create drops the status unread).
agree() {
  n=$((n + 1))
  gadget="Gadget \"g\" { apiVersion: \"example.com/v1\", metadata: { namespace: \"default\" }, spec: { $3 }${4:+, status: { $4 \}} }"
  checked=$(env_dir "c$n" "env c { $crd
    $gadget }")
  bare=$(env_dir "b$n" "env c { $gadget }")
  expect "plumb: $1" "$2" "" $PLUMB build "$checked"
  $PLUMB build -o json "$bare" | python3 -c 'import json, sys; print(json.dumps(json.load(sys.stdin)["items"][0]))' \
    >"$work/g.json"
  if [ -n "${4:-}" ]; then
    expect "API server: $1" "$2" "" $K apply --server-side --dry-run=server -f "$work/g.json"
  else
    expect "API server: $1" "$2" "" $K create --raw \
      "/apis/example.com/v1/namespaces/default/gadgets?dryRun=All&fieldValidation=Strict" -f "$work/g.json"
  fi
}

agree "all within limits" 0 'size: 4, ratio: 0.5, step: 0.3, name: "ab", tags: ["a", "b"], labels: { a: "b" }, level: 2, port: 80, source: { url: "u" }, target: { port: 8080 }, mode: "mode"'
agree "over the maximum" 1 'size: 12'
agree "under the minimum" 1 'size: 0'
agree "not a multiple" 1 'size: 3'
agree "an integral float for an int" 0 'size: 4.0'
agree "at the exclusive maximum" 1 'ratio: 1'
agree "at the exclusive minimum" 1 'ratio: 0'
agree "an int meets a fractional minimum cut to an int" 0 'low: 10'
agree "a float does not" 1 'low: 10.2'
agree "an int against a factor cut to 0" 1 'half: 3'
agree "a float against the factor" 0 'half: 1.5'
agree "an int against a maximum past int64 (INT64_MIN on amd64)" 1 'huge: 5'
agree "a float against it" 0 'huge: 5.5'
agree "a bound an integer field cannot hold refuses any value" 1 'imin: 11'
agree "a bound past an int32 refuses any value" 1 'i32: 5'
agree "a float32 out of range" 1 'f32: 1e39'
agree "a float32 in range" 0 'f32: 1e38'
agree "a multiple of 0.1" 0 'step: 0.3'
agree "not a multiple of 0.1" 1 'step: 0.35'
agree "too short" 1 'name: "a"'
agree "too long" 1 'name: "abcdef"'
agree "characters, not bytes" 0 'word: "ééé"'
agree "four characters" 1 'word: "éééé"'
agree "no match" 1 'name: "aB"'
agree "a final newline is not the end" 1 'name: "ab\n"'
agree "too few items" 1 'tags: []'
agree "too many items" 1 'tags: ["a", "b", "c", "d"]'
agree "a set holds a value once" 1 'tags: ["a", "b", "a"]'
agree "null where the item is not nullable" 1 'tags: ["a", null]'
agree "null where it is" 0 'maybe: ["a", null]'
agree "too few fields" 1 'labels: {}'
agree "too many fields" 1 'labels: { a: "1", b: "2", c: "3" }'
agree "outside an int enum" 1 'level: 4'
agree "an int32 out of range" 1 'port: 3000000000'
agree "formats that hold" 0 'ip: "10.0.0.1", ip6: "fe80::1", net: "10.0.0.0/8", mac: "00:1a:2b:3c:4d:5e", id: "123e4567-e89b-12d3-a456-426614174000", host: "example.com", day: "2024-02-29", at: "2024-02-29T10:00:00.5Z", wait: "1h30m", data: "aGk=", color: "#fff", short: "web-1"'
agree "sloppy IPv4 and lower-case date-time" 0 'ip: "010.0.0.1", at: "2024-02-29t10:00:00z"'
agree "a duration in words" 0 'wait: "3 days"'
agree "a float over an int's maximum" 1 'size: 10.5'
agree "a float is cut to compare with an int enum" 1 'level: 1.5'
agree "a hostname of letters beyond ASCII" 0 'host: "bücher.de"'
agree "a MAC address in dotted groups" 0 'mac: "0000.5e00.5301"'
agree "an IPv6 CIDR" 0 'net: "fe80::/64"'
agree "an IPv4-mapped IPv6 address is an IPv4 address" 0 'ip: "::ffff:1.2.3.4"'
agree "a UUID without dashes" 0 'id: "123e4567e89b12d3a456426614174000"'
agree "a signed fractional duration" 0 'wait: "-1.5h"'
agree "a duration past int64" 1 'wait: "99999999999999999999s"'
agree "a date-time without seconds" 1 'at: "2024-02-29T10:00Z"'
agree "any one character before a fraction" 0 'at: "2024-02-29T10:00:00x5Z"'
agree "base64 with a line break" 1 'data: "aGk=\n"'
agree "ISBNs and a card number" 0 'book: "978-0-306-40615-7", book10: "0 306 40615 2", book13: "9780306406157", card: "4111-1111-1111-1111"'
agree "an ISBN-10 ending in X" 0 'book10: "0-8044-2957-X"'
agree "a wrong ISBN check digit" 1 'book: "0-306-40615-3"'
agree "an ISBN-13 is not an ISBN-10" 1 'book10: "9780306406157"'
agree "a card number failing Luhn" 1 'card: "4111 1111 1111 1112"'
agree "a card number of no known kind" 1 'card: "1234567812345670"'
agree "URIs: absolute, opaque, a path, an IPv6 host with a zone" 0 'link: "https://u:p@example.com:8443/a%20b?q=%zz#f"'
agree "an opaque URI" 0 'link: "mailto:ops@example.com"'
agree "a URI that is a path" 0 'link: "/just/a/path"'
agree "an IPv6 host with a zone" 0 'link: "http://[fe80::1%25eth0]:8080/x"'
agree "a relative URI" 1 'link: "relative/path"'
agree "a port that is not a number" 1 'link: "http://host:port/"'
agree "a space in a host" 1 'link: "http://a b/"'
agree "an escape of ASCII in a host" 1 'link: "http://a%20b/"'
agree "a bad escape in a path" 1 'link: "http://h/%zz"'
agree "an IPv4 address in brackets" 1 'link: "http://[1.2.3.4]/"'
agree "email addresses: plain, named, with a comment, quoted, a group of one" 0 'mail: "ops@example.com"'
agree "a named email address" 0 'mail: "Ops Team <ops@example.com>"'
agree "an email address with a comment" 0 'mail: "ops@example.com (the team)"'
agree "a quoted local part" 0 'mail: "\"o p\"@example.com"'
agree "a group of one address" 0 'mail: "team: ops@example.com;"'
agree "an IP address for a domain" 0 'mail: "ops@[10.0.0.1]"'
agree "two dots in a local part" 1 'mail: "o..p@example.com"'
agree "no domain" 1 'mail: "ops@"'
agree "two addresses" 1 'mail: "ops@example.com, x@y.z"'
agree "a name without an address" 1 'mail: "Full Name"'
agree "a comment before the address" 1 'mail: "(c) ops@example.com"'
agree "not an IPv4 address" 1 'ip: "10.0.0.256"'
agree "not an IPv6 address" 1 'ip6: "10.0.0.1"'
agree "not a CIDR" 1 'net: "10.0.0.0/33"'
agree "not a MAC address" 1 'mac: "00:1a:2b:3c:4d"'
agree "not a UUID" 1 'id: "123"'
agree "not a hostname" 1 'host: "-x.com"'
agree "no such day" 1 'day: "2023-02-29"'
agree "not a date-time" 1 'at: "2024-02-29 10:00:00Z"'
agree "not a duration" 1 'wait: "soon"'
agree "empty is not base64" 1 'data: ""'
agree "not a hex color" 1 'color: "#ffff"'
agree "not a short name" 1 'short: "Web"'
agree "none of oneOf" 1 'source: {}'
agree "two of oneOf" 1 'source: { url: "u", path: "p" }'
agree "none of anyOf" 1 'target: { port: 80 }'
agree "one of anyOf" 0 'target: { host: "h", port: 80 }'
agree "one of allOf fails" 1 'mode: "xy"'
agree "matches not" 1 'mode: "mx"'
agree "a status subresource: no value validation" 0 'size: 4' 'phase: "Gone", n: 9'
agree "a status subresource: types still" 1 'size: 4' 'n: "9"'
agree "a status subresource: fields still" 1 'size: 4' 'm: 9'

echo "crds: $pass passed, $fail failed"

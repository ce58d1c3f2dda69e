/* emit.h: values out as YAML and JSON, byte for byte deterministic.
 *
 * Key order is documented in docs/language.md: in a resource, apiVersion,
 * kind and metadata come first and metadata starts with name and namespace;
 * every other object has its keys sorted bytewise. Strings that YAML 1.1 or
 * 1.2 would read as anything but a string are quoted. */
#ifndef PLUMB_EMIT_H
#define PLUMB_EMIT_H

#include <stdbool.h>

#include "plumb/arena.h"
#include "plumb/value.h"

/* What the YAML emitter remembers across the documents of a stream: most
 * keys and many values are one string shared by every resource a template
 * makes, and so are whole subtrees (literals are built once): whether a
 * string needs quotes, and the text of a subtree met again, are worked out
 * once. Values are known by address, so they must outlive the memo and not
 * change meanwhile (the compile's arena and its immutable values do). The
 * caller owns it; release with emit_memo_free. */
typedef struct emit_memo emit_memo;
emit_memo *emit_memo_new(void);
void emit_memo_free(emit_memo *m);

/* One YAML document for a resource (no leading "---"); m may be NULL. */
void emit_yaml_resource(buf *out, const value *resource, emit_memo *m);
/* Any value as a YAML document, sorted keys, ending in a newline. */
void emit_yaml_value(buf *out, const value *v);
/* JSON; `pretty` indents by two spaces, otherwise one line without spaces.
 * `resources` applies the resource key order at the top level of each
 * object in v when v is a resource or a list of resources. */
void emit_json(buf *out, const value *v, bool pretty, bool resources);

/* Compact JSON with sorted keys as Go's encoding/json writes it: emit_json's
 * form with <, >, &, U+2028 and U+2029 escaped too. Kustomize hashes it. */
void emit_json_go(buf *out, const value *v);

/* The bytes of the UTF-8 character at the start of s (n bytes), or 0 when
 * none starts there: a stray or overlong byte, a surrogate, a sequence cut
 * short. */
size_t emit_utf8_char(const char *s, size_t n);
/* True when s is valid UTF-8, which YAML and JSON strings carry as it is. */
bool emit_utf8_valid(const char *s, size_t len);
/* The length of the longest prefix of s that is valid UTF-8. */
size_t emit_utf8_prefix(const char *s, size_t len);

/* True when s must be quoted to stay a string in YAML. */
bool emit_yaml_needs_quotes(const char *s, size_t len);

#endif

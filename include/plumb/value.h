/* value.h: the data the language computes with and the compiler emits.
 *
 * Values are immutable once built and live in the compile's arena. Each one
 * remembers where it came from (`at`), how it got there (`via`, e.g. "patch in
 * env prod") and which value it replaced in a merge (`prev`): that chain is
 * what `plumb explain` prints.
 *
 * One exception: a build's patches and transformers change a resource by
 * many settings, and a copy of the path to each change would stay in the
 * arena for every one. So the copy they make of a part, or a value they
 * make for one place, is marked `owned` (value_own): it stands in that one
 * place of that one resource, and later changes there are made in place.
 * Before they start, the parts evaluation made for one resource alone are
 * marked so too (value_claim). */
#ifndef PLUMB_VALUE_H
#define PLUMB_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "plumb/arena.h"
#include "plumb/diag.h"

/* Deeper values are refused by the evaluator: every walk over a value
 * (merging, comparing, writing out) recurses once a level. */
enum { VALUE_MAX_DEPTH = 1000 };

typedef enum {
  V_NULL,
  V_BOOL,
  V_INT,
  V_FLOAT,
  V_STRING,
  V_LIST,
  V_OBJECT,
  V_FUNC, /* a template, a fn or a built-in */
} value_kind;

typedef struct value value;
typedef struct func func; /* defined by the evaluator */

typedef struct {
  const char *key;
  value *val;
} field;

struct value {
  value_kind kind : 8;
  /* Set on a resource a generator made: the build appends a hash of its
   * content to its name, after patches and transformers. Copies made by
   * value_clone, as patches make them, keep it. */
  bool name_hash : 1;
  /* Built from literal source text alone (eval.c's keep_literal), so it
   * holds no `delete` marker and no function: validation need not look
   * inside. Copies made by value_clone do not keep it: they are made to be
   * changed. */
  bool literal : 1;
  /* Some part of it, at any depth, is null: a build leaves out the fields
   * that are, and passes by a value without this mark. Taking the part
   * out again does not clear it: a mark too many only costs a look. */
  bool holds_null : 1;
  /* Made by a build stage for one place of one resource (value_own),
   * where nothing else holds it: the stages change it in place. A value
   * without the mark may be shared (a literal by every instance of a
   * template, a `let` by the fields it fills) and is copied before any
   * change. Copies made by value_clone do not keep it. */
  bool owned : 1;
  /* Paths to it, 0, 1 or more (2), counted by value_claim only. */
  unsigned paths : 2;
  /* Decrypted from a file SOPS encrypted (compiler/sops.h), which `at`
   * names: plumb explain and messages say so instead of showing it.
   * Copies keep it. */
  bool secret : 1;
  /* Levels of lists and objects from here down (0 for a scalar); it stops
   * growing at 65535. Values share their parts, so a short program can
   * build a value far deeper, or far bigger once written out, than any
   * expression in it: these two fields, kept by every function below
   * that adds or replaces a part, are what the compiler's limits read
   * before anything walks such a value. */
  unsigned depth : 16;
  /* About the bytes the value takes as compact JSON, a shared part counted
   * at every place it stands; it stops growing at UINT32_MAX. */
  uint32_t size;
  pos at;
  const char *via;
  const value *prev;
  union {
    bool b;
    int64_t i;
    double f;
    struct { const char *s; size_t len; } str; /* NUL-terminated too */
    struct { value **items; size_t len, cap; } list;
    /* Fields in insertion order; `index`, a hash of key -> position + 1,
     * exists once an object is big enough for linear search to hurt (its
     * number of slots is stored just before it). Counts are 32 bits, so
     * that a value is 64 bytes: a build holds a million of them. */
    struct { field *fields; uint32_t len, cap; uint32_t *index; } obj;
    const func *fn;
  } u;
};

value *value_null(arena *a, pos at);
value *value_bool(arena *a, pos at, bool b);
value *value_int(arena *a, pos at, int64_t i);
value *value_float(arena *a, pos at, double f);
value *value_string(arena *a, pos at, const char *s, size_t len); /* copies s */
value *value_cstring(arena *a, pos at, const char *s);            /* copies s */
/* s, NUL-terminated, already lives in a: not copied. */
value *value_string_take(arena *a, pos at, const char *s, size_t len);
value *value_list(arena *a, pos at);
value *value_object(arena *a, pos at);
value *value_func(arena *a, pos at, const func *fn);
value *value_clone(arena *a, const value *v); /* shallow: new node, same children */
/* v itself when it is owned, else an owned shallow copy: what a build
 * stage changes in place of v, which it then puts where v stood. */
value *value_own(arena *a, value *v);
/* value_own of a list or object, with room made at once for extra more
 * parts: adding them one by one, a full array grows by doubling and
 * leaves the old one behind in the arena. */
value *value_own_room(arena *a, value *v, size_t extra);
/* Depth, size and null mark of v brought up to date after its part `part`
 * changed in place, from a size of was (before the change): as counting
 * all the parts again would make them, at the cost of one. Depth is not
 * lowered nor the mark cleared, as below. */
void value_part_changed(value *v, const value *part, uint32_t was);
/* Clears the owned mark on v and its parts, once v stands in a second
 * place: neither may change in place from then on. */
void value_disown(value *v);
/* Marks owned every list and object that the roots reach along one path
 * only, through parts reached so too, literals aside: what evaluation made
 * for one resource, which the build stages then change in place instead of
 * copying (the copy's original would stay in the arena). held are values
 * the stages still read, such as settings: their parts are never claimed. */
void value_claim(value *const *roots, size_t n, value *const *held, size_t nheld);

void value_list_push(arena *a, value *list, value *item);
/* Replaces item i of list (i < len): the only way to write an item in
 * place, so that depth and size stay right (but for value_part_changed). */
void value_list_set(value *list, size_t i, value *item);
/* Room for n items of a list or fields of an object in all: filling a
 * collection of known size then allocates once, where growing step by step
 * would leave each outgrown array behind in the arena. */
void value_reserve(arena *a, value *v, size_t n);
/* A key given as its first n bytes, not NUL-terminated: a segment of a
 * path, looked up where it stands. NULL if absent. */
value *value_object_getn(const value *obj, const char *key, size_t n);
/* Inline, so that the length of a literal key is counted at compile time:
 * a build looks keys up millions of times. */
static inline value *value_object_get(const value *obj, const char *key) {
  return value_object_getn(obj, key, strlen(key));
}
field *value_object_field(const value *obj, const char *key); /* NULL if absent */
field *value_object_fieldn(const value *obj, const char *key, size_t n);
void value_object_set(arena *a, value *obj, const char *key, value *v);
/* value_object_set of a field already found (f is in obj): the lookup is
 * not made again. */
void value_field_set(value *obj, field *f, value *v);
/* Adds key unless obj has it: false, and obj unchanged, when it was there.
 * One lookup where value_object_get then value_object_set take two. */
bool value_object_add(arena *a, value *obj, const char *key, value *v);
bool value_object_remove(value *obj, const char *key);
/* Appends a key the caller knows obj lacks (copying an object, or keys
 * already found distinct): no lookup. */
void value_object_push(arena *a, value *obj, const char *key, value *v);

/* A path such as "metadata.name" or "spec.containers[0].image". */
value *value_get_path(const value *v, const char *path);
/* The string at path, or NULL when there is none or it is not a string. */
const char *value_get_string(const value *v, const char *path);

bool value_equal(const value *x, const value *y);
int value_compare(const value *x, const value *y); /* total order, for sort */
bool value_truthy(const value *v);
/* Appends f in the fewest digits that read back as f (%.15g to %.17g). */
void value_put_float(buf *b, double f);
/* Appends the text of a scalar, as a string interpolation writes it: a
 * string as it is, an int, a float as value_put_float writes it, true,
 * false, null. False, appending nothing, for a list, an object or a
 * function, which have no text of their own. */
bool value_put_text(buf *b, const value *v);
const char *value_kind_name(value_kind k);
/* The string v quoted for a message ("web"), or the words "a decrypted
 * value" for one decrypted from a file SOPS encrypted: no message shows
 * one. In a. */
const char *value_quoted(arena *a, const value *v);
/* The kind with its article, for messages: "an int", "a string". */
const char *value_a(value_kind k);

/* Object keys in emit order: bytewise sorted. Caller frees the array. */
const char **value_sorted_keys(const value *obj);
/* Sorts n field pointers into the same order, in place. */
void value_sort_fields(const field **fs, size_t n);

#endif

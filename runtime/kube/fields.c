/* fields.c: would a server-side apply change an object? Answered from the
 * live object and the fields its manager owns (metadata.managedFields,
 * FieldsV1), so an object that is as wanted needs no request.
 *
 * "Unchanged" must be certain; anything else answers "maybe" and the caller
 * asks the server. The manager's field set stands in for the schema the
 * client does not have: a field with owned children is granular (each
 * child merges on its own), one without is atomic or empty (compared
 * whole); an associative list names its keys in its "k:{...}" entries. So
 * an apply leaves live as it is when the manager owns exactly the fields
 * wanted (none would be given up and removed) and live holds the wanted
 * value at each. Values are compared as they are: a quantity the server
 * would normalise ("0.5" for "500m") is a "maybe".
 *
 * Here too: the one-line readers of string fields every module uses. */
#include "kube/internal.h"

#include <stdlib.h>
#include <string.h>

#include "plumb/arena.h"

const char *kube_str(const json_t *obj, const char *key) { return json_string_value(json_object_get(obj, key)); }

const char *kube_meta_str(const json_t *obj, const char *key) {
  return kube_str(json_object_get(obj, "metadata"), key);
}

bool kube_str_is(const json_t *obj, const char *key, const char *want) {
  const char *s = kube_str(obj, key);
  return s && want && strcmp(s, want) == 0;
}

const json_t *kube_owned_fields(const json_t *live, const char *manager, const char *api_version) {
  const json_t *found = NULL;
  size_t i;
  json_t *e;
  json_array_foreach(json_object_get(json_object_get(live, "metadata"), "managedFields"), i, e) {
    if (!kube_str_is(e, "manager", manager) || !kube_str_is(e, "operation", "Apply")) continue;
    const char *sub = kube_str(e, "subresource");
    if (sub && *sub) continue;
    if (found || !kube_str_is(e, "apiVersion", api_version) || !kube_str_is(e, "fieldsType", "FieldsV1")) return NULL;
    found = json_object_get(e, "fieldsV1");
  }
  return json_is_object(found) ? found : NULL;
}

/* Owned children, "." (the element itself) aside; *prefix is the kind of
 * the first ('f', 'k', 'v' or 'i'), 0 when none. */
static size_t children(const json_t *owned, char *prefix) {
  const char *key;
  json_t *sub;
  size_t n = 0;
  *prefix = 0;
  json_object_foreach((json_t *)owned, key, sub) {
    if (strcmp(key, ".") == 0) continue;
    if (!n++) *prefix = key[0];
    if (key[0] != *prefix || key[1] != ':') *prefix = '?'; /* mixed: not a shape known here */
  }
  return n;
}

static bool same(const json_t *want, const json_t *live, const json_t *owned);

/* A granular object: the owned "f:" fields are exactly the wanted ones,
 * each the same. Without owned children it is atomic (or empty): whole. */
static bool same_object(const json_t *want, const json_t *live, const json_t *owned) {
  char prefix;
  size_t n = children(owned, &prefix);
  if (!json_is_object(live)) return false;
  if (!n) return json_equal(want, live);
  if (prefix != 'f' || n != json_object_size(want)) return false;
  const char *key;
  json_t *sub;
  json_object_foreach((json_t *)owned, key, sub) {
    if (strcmp(key, ".") == 0) continue;
    const json_t *w = json_object_get(want, key + 2);
    if (!w || !same(w, json_object_get(live, key + 2), sub)) return false;
  }
  return true;
}

/* A set list ("v:" entries): the same list, each value owned. */
static bool same_set(const json_t *want, const json_t *live, const json_t *owned, size_t n) {
  if (n != json_array_size(want) || !json_equal(want, live)) return false;
  size_t i;
  json_t *v;
  json_array_foreach(want, i, v) {
    char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT), *key;
    key = heap_printf("v:%s", text);
    bool owned_v = json_object_get(owned, key) != NULL;
    free(text);
    free(key);
    if (!owned_v) return false;
  }
  return true;
}

/* elem carries every key field of key (as the live element must). With
 * partial, a field elem leaves out matches too: the server defaulted it
 * (a port's protocol), and same_object still checks the manager does not
 * own it. */
static bool has_key(const json_t *elem, const json_t *key, bool partial) {
  const char *f;
  json_t *v;
  json_object_foreach((json_t *)key, f, v) {
    const json_t *e = json_object_get(elem, f);
    if (e ? !json_equal(e, v) : !partial) return false;
  }
  return true;
}

/* The one element of list with key; -1 when none or several. */
static long find_one(const json_t *list, const json_t *key, bool partial) {
  long found = -1;
  size_t i;
  json_t *e;
  json_array_foreach(list, i, e) {
    if (!json_is_object(e) || !has_key(e, key, partial)) continue;
    if (found >= 0) return -1;
    found = (long)i;
  }
  return found;
}

typedef struct {
  json_t *keys;    /* array: each owned entry's key object */
  json_t *entries; /* array: its owned fields, same index */
} assoc;

static bool read_entries(const json_t *owned, assoc *a) {
  const char *k;
  json_t *sub;
  json_object_foreach((json_t *)owned, k, sub) {
    if (strcmp(k, ".") == 0) continue;
    json_t *key = json_loads(k + 2, 0, NULL);
    if (!json_is_object(key)) {
      json_decref(key);
      return false;
    }
    json_array_append_new(a->keys, key);
    json_array_append(a->entries, sub);
  }
  return true;
}

/* want[i]'s owned entry, found by key, used once; -1 when not one. */
static long match_entry(const assoc *a, const json_t *w, json_t *used) {
  long found = -1;
  size_t i;
  json_t *key;
  json_array_foreach(a->keys, i, key) {
    if (!has_key(w, key, true)) continue;
    if (found >= 0) return -1;
    found = (long)i;
  }
  if (found < 0 || json_is_true(json_array_get(used, (size_t)found))) return -1;
  json_array_set_new(used, (size_t)found, json_true());
  return found;
}

/* An associative list ("k:" entries): one owned entry per wanted element,
 * found by its key fields, the live element with that key the same, and
 * the live elements in the wanted order (an apply could reorder them). */
static bool same_assoc(const json_t *want, const json_t *live, const json_t *owned, size_t n) {
  assoc a = {json_array(), json_array()};
  json_t *used = json_array();
  bool ok = n == json_array_size(want) && read_entries(owned, &a);
  for (size_t i = 0; i < n && ok; i++) json_array_append_new(used, json_false());
  long last = -1;
  size_t i;
  json_t *w;
  json_array_foreach(want, i, w) {
    if (!ok) break;
    long e = json_is_object(w) ? match_entry(&a, w, used) : -1;
    long at = e < 0 ? -1 : find_one(live, json_array_get(a.keys, (size_t)e), false);
    ok = at > last && same_object(w, json_array_get(live, (size_t)at), json_array_get(a.entries, (size_t)e));
    last = at;
  }
  json_decref(a.keys);
  json_decref(a.entries);
  json_decref(used);
  return ok;
}

static bool same_list(const json_t *want, const json_t *live, const json_t *owned) {
  char prefix;
  size_t n = children(owned, &prefix);
  if (!json_is_array(live)) return false;
  if (!n) return json_equal(want, live); /* atomic, or empty */
  if (prefix == 'v') return same_set(want, live, owned, n);
  if (prefix == 'k') return same_assoc(want, live, owned, n);
  return false;
}

static bool same(const json_t *want, const json_t *live, const json_t *owned) {
  char prefix;
  if (!live || !json_is_object(owned)) return false;
  if (json_is_object(want)) return same_object(want, live, owned);
  if (json_is_array(want)) return same_list(want, live, owned);
  return children(owned, &prefix) == 0 && json_equal(want, live);
}

bool kube_apply_unchanged(const json_t *obj, const json_t *live, const char *field_manager) {
  const json_t *owned = kube_owned_fields(live, field_manager ? field_manager : "plumb", kube_str(obj, "apiVersion"));
  const json_t *meta = json_object_get(live, "metadata");
  if (!owned || json_object_get(meta, "deletionTimestamp")) return false;
  /* apiVersion, kind, name and namespace name the object; field sets leave
   * them out. */
  json_t *want = json_copy((json_t *)obj), *want_meta = json_copy(json_object_get(obj, "metadata"));
  json_object_del(want, "apiVersion");
  json_object_del(want, "kind");
  json_object_del(want_meta, "name");
  json_object_del(want_meta, "namespace");
  if (json_object_size(want_meta))
    json_object_set(want, "metadata", want_meta);
  else
    json_object_del(want, "metadata");
  bool unchanged = same_object(want, live, owned);
  json_decref(want);
  json_decref(want_meta);
  return unchanged;
}

/* ---- what the check reads ------------------------------------------------- */

static void reduce(json_t *live, const json_t *owned);

/* The owned entry whose key elem carries: NULL when none does, elem itself
 * when several do (it then stays whole). */
static const json_t *only_entry(const json_t *elem, const assoc *a) {
  const json_t *found = NULL;
  size_t i;
  json_t *key;
  json_array_foreach(a->keys, i, key) {
    if (!has_key(elem, key, false)) continue;
    if (found) return elem;
    found = json_array_get(a->entries, i);
  }
  return found;
}

/* An associative list keeps the elements an owned key can find (each
 * reduced to its entry's fields), in their order: find_one and the order
 * check see the same. */
static void reduce_elements(json_t *live, const json_t *owned) {
  assoc a = {json_array(), json_array()};
  if (read_entries(owned, &a)) {
    for (size_t i = json_array_size(live); i-- > 0;) {
      json_t *elem = json_array_get(live, i);
      const json_t *entry = json_is_object(elem) ? only_entry(elem, &a) : NULL;
      if (!entry) json_array_remove(live, i);
      else if (entry != elem) reduce(elem, entry);
    }
  }
  json_decref(a.keys);
  json_decref(a.entries);
}

/* live without what same() never reads under owned: the fields of a
 * granular object not owned, the elements of an associative list no owned
 * key finds. Anything compared whole (atomic fields, set lists, shapes not
 * known here) stays whole. */
static void reduce(json_t *live, const json_t *owned) {
  char prefix;
  if (!json_is_object(owned) || !children(owned, &prefix)) return;
  if (json_is_array(live) && prefix == 'k') {
    reduce_elements(live, owned);
  } else if (json_is_object(live) && prefix == 'f') {
    const char *key;
    void *tmp;
    json_t *sub;
    json_object_foreach_safe(live, tmp, key, sub) {
      char *field;
      field = heap_printf("f:%s", key);
      const json_t *o = json_object_get(owned, field);
      free(field);
      if (o) reduce(sub, o);
      else json_object_del(live, key);
    }
  }
}

/* Whether entry e of managedFields is one kube_keep_owned keeps: of
 * manager, or with manager NULL of anyone's server-side apply. */
static bool kept_entry(const json_t *e, const char *manager) {
  return manager ? kube_str_is(e, "manager", manager) : kube_str_is(e, "operation", "Apply");
}

/* The kept managers' own managedFields entries: the others' answer nothing. */
static void keep_entries_of(json_t *meta, const char *manager) {
  json_t *kept = json_array();
  size_t i;
  json_t *e;
  json_array_foreach(json_object_get(meta, "managedFields"), i, e) {
    if (kept_entry(e, manager)) json_array_append(kept, e);
  }
  if (json_array_size(kept))
    json_object_set(meta, "managedFields", kept);
  else
    json_object_del(meta, "managedFields");
  json_decref(kept);
}

/* The fields the kept managers' applies in api own, all together (caller
 * decrefs); NULL when none. */
static json_t *owned_by_kept(const json_t *live, const char *manager, const char *api) {
  json_t *all = NULL;
  size_t i;
  json_t *e;
  json_array_foreach(json_object_get(json_object_get(live, "metadata"), "managedFields"), i, e) {
    const char *sub = kube_str(e, "subresource");
    const json_t *fields = json_object_get(e, "fieldsV1");
    if (!kept_entry(e, manager) || !kube_str_is(e, "operation", "Apply") || (sub && *sub) ||
        !kube_str_is(e, "apiVersion", api) || !json_is_object(fields))
      continue;
    if (!all) all = json_deep_copy(fields);
    else json_object_update_recursive(all, (json_t *)fields);
  }
  return all;
}

void kube_keep_owned(json_t *live, const char *field_manager) {
  json_t *meta = json_object_get(live, "metadata");
  if (!json_is_object(meta)) return;
  json_t *owned = owned_by_kept(live, field_manager, kube_str(live, "apiVersion"));
  keep_entries_of(meta, field_manager);
  /* What names the object and its version, and what the check reads
   * beside the fields. */
  json_t *keep = json_pack("{s:O*, s:O*, s:{s:O*, s:O*, s:O*, s:O*, s:O*}}", "apiVersion",
                           json_object_get(live, "apiVersion"), "kind", json_object_get(live, "kind"), "metadata",
                           "name", json_object_get(meta, "name"), "namespace", json_object_get(meta, "namespace"),
                           "resourceVersion", json_object_get(meta, "resourceVersion"), "deletionTimestamp",
                           json_object_get(meta, "deletionTimestamp"), "managedFields",
                           json_object_get(meta, "managedFields"));
  if (owned) reduce(live, owned);
  else json_object_clear(live); /* the check answers "maybe" whatever it holds */
  json_decref(owned);
  json_t *kept_meta = json_object_get(keep, "metadata"), *owned_meta = json_object_get(live, "metadata");
  if (json_is_object(owned_meta)) json_object_update(kept_meta, owned_meta);
  json_object_update(live, keep);
  json_decref(keep);
}

/* validate.c: what the API server would refuse, caught at compile time.
 * The rules follow k8s.io/apimachinery/pkg/util/validation. */
#include "validate.h"

#include <string.h>

#include "kinds.h"
#include "merge.h"
#include "plumb/emit.h"

/* Character classes of the rules below, by table: every name, label key
 * and label value of every resource passes through here. */
enum { LOWER_ALNUM = 1, ALNUM = 2, NAME_PUNCT = 4 /* '-', '_', '.' */ };
static const unsigned char char_class[256] = {
    ['a' ... 'z'] = LOWER_ALNUM | ALNUM, ['0' ... '9'] = LOWER_ALNUM | ALNUM, ['A' ... 'Z'] = ALNUM,
    ['-'] = NAME_PUNCT, ['_'] = NAME_PUNCT, ['.'] = NAME_PUNCT,
};

static bool is(char c, unsigned cls) { return char_class[(unsigned char)c] & cls; }

/* RFC 1123 label: lowercase alphanumerics and '-', alphanumeric at both ends. */
static bool label_span(const char *s, size_t n) {
  if (n == 0 || n > 63 || !is(s[0], LOWER_ALNUM) || !is(s[n - 1], LOWER_ALNUM)) return false;
  for (size_t i = 0; i < n; i++)
    if (!is(s[i], LOWER_ALNUM) && s[i] != '-') return false;
  return true;
}

bool validate_dns_label(const char *s) { return label_span(s, strlen(s)); }

/* A DNS subdomain given as its n bytes at s. */
static bool subdomain_span(const char *s, size_t n) {
  if (n == 0 || n > 253) return false;
  for (const char *p = s, *end = s + n;;) {
    const char *dot = memchr(p, '.', (size_t)(end - p));
    if (!label_span(p, (size_t)((dot ? dot : end) - p))) return false;
    if (!dot) return true;
    p = dot + 1;
  }
}

bool validate_dns_subdomain(const char *s) { return subdomain_span(s, strlen(s)); }

/* A label name: up to 63 of [A-Za-z0-9-_.], alphanumeric at both ends. */
static bool qualified_name_part(const char *s, size_t n) {
  if (n == 0 || n > 63 || !is(s[0], ALNUM) || !is(s[n - 1], ALNUM)) return false;
  for (size_t i = 0; i < n; i++)
    if (!is(s[i], ALNUM | NAME_PUNCT)) return false;
  return true;
}

bool validate_label_key(const char *s) {
  const char *slash = strchr(s, '/');
  if (!slash) return qualified_name_part(s, strlen(s));
  return subdomain_span(s, (size_t)(slash - s)) && qualified_name_part(slash + 1, strlen(slash + 1));
}

bool validate_label_value(const char *s) { return *s == '\0' || qualified_name_part(s, strlen(s)); }

bool validate_config_key(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > 253 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0) return false;
  for (size_t i = 0; i < n; i++)
    if (!is(s[i], ALNUM | NAME_PUNCT)) return false;
  return true;
}

static bool check_map(diag_list *d, const value *map, const char *what, bool values_too) {
  if (!map) return true;
  if (map->kind != V_OBJECT) {
    diag_error(d, map->at, "metadata.%ss must be an object of strings", what);
    return false;
  }
  bool ok = true;
  for (size_t i = 0; i < map->u.obj.len; i++) {
    const field *f = &map->u.obj.fields[i];
    if (!validate_label_key(f->key)) {
      diag_error(d, f->val->at, "invalid %s key \"%s\": expected an optional DNS-subdomain prefix and '/', then up to 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
                 what, f->key);
      ok = false;
    }
    if (f->val->kind != V_STRING) {
      diag_error(d, f->val->at, "the value of %s \"%s\" must be a string, got %s", what, f->key, value_kind_name(f->val->kind));
      ok = false;
    } else if (values_too && !validate_label_value(f->val->u.str.s)) {
      diag_error(d, f->val->at, "invalid label value %s: expected at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
                 value_quoted(d->arena, f->val));
      ok = false;
    }
  }
  return ok;
}

/* YAML and JSON hold text: a string that is not UTF-8 (file() of a binary
 * file, base64_decode) is refused where it was made rather than printed
 * as U+FFFD. */
static bool check_text(diag_list *d, pos at, const char *s, size_t len, const char *what) {
  size_t valid = emit_utf8_prefix(s, len);
  if (valid == len) return true;
  diag_error(
      d, at,
      "%s is not UTF-8 text (byte 0x%02X at offset %zu); YAML and JSON hold text only: base64_encode() binary data",
      what, (unsigned char)s[valid], valid);
  return false;
}

/* Keys are short and nearly all ASCII: one pass over the bytes says so,
 * where a strlen and the UTF-8 decoder take two. */
static bool ascii(const char *s) {
  const unsigned char *p = (const unsigned char *)s;
  while (*p && *p < 0x80) p++;
  return *p == '\0';
}

/* Every string and key of v; in a resource, also that nothing is `delete`
 * (which means something only inside a patch; anywhere else it is a slip)
 * or a function. */
static bool check_values(diag_list *d, const value *v, bool resource) {
  /* Most of a template's output, shared by every resource; literals come
   * from source text, which is UTF-8. */
  if (v->literal) return true;
  if (v->kind == V_STRING) return check_text(d, v->at, v->u.str.s, v->u.str.len, "this string");
  if (resource && merge_is_delete(v)) {
    diag_error(d, v->at, "'delete' removes a field in a patch; here there is nothing to remove");
    return false;
  }
  bool ok = true;
  if (v->kind == V_OBJECT)
    for (size_t i = 0; i < v->u.obj.len; i++) {
      const field *f = &v->u.obj.fields[i];
      ok = (ascii(f->key) || check_text(d, f->val->at, f->key, strlen(f->key), "the key of this field")) && ok;
      ok = check_values(d, f->val, resource) && ok;
    }
  if (v->kind == V_LIST)
    for (size_t i = 0; i < v->u.list.len; i++) ok = check_values(d, v->u.list.items[i], resource) && ok;
  if (resource && v->kind == V_FUNC) {
    diag_error(d, v->at, "a function cannot be part of a resource");
    ok = false;
  }
  return ok;
}

bool validate_text(diag_list *d, const value *v) { return check_values(d, v, false); }

/* v is what res holds at path, or NULL. */
static const value *want_string(diag_list *d, const value *res, const value *v, const char *path) {
  if (!v) {
    diag_error(d, res->at, "resource has no %s", path);
    return NULL;
  }
  if (v->kind != V_STRING || v->u.str.len == 0) {
    diag_error(d, v->at, "%s must be a non-empty string", path);
    return NULL;
  }
  return v;
}

/* The rule a name of kind k (NULL: a kind plumb does not know) breaks,
 * in words, or NULL. */
static const char *name_refused(const kind_info *k, const char *name) {
  if (k && k->dns_label_name)
    return validate_dns_label(name) ? NULL
                                    : "at most 63 lowercase letters, digits or '-', starting and ending with a letter "
                                      "or digit";
  if (k && k->path_segment_name)
    return strcmp(name, ".") && strcmp(name, "..") && !name[strcspn(name, "/%")]
               ? NULL
               : "a name without '/' or '%', other than \".\" and \"..\"";
  return validate_dns_subdomain(name) ? NULL
                                      : "at most 253 lowercase letters, digits, '-' or '.', each dot-separated part "
                                        "starting and ending with a letter or digit";
}

bool validate_resource(diag_list *d, const value *res) {
  /* metadata is looked up once for the four fields read from it. */
  const value *meta = value_object_get(res, "metadata");
  const value *kind = want_string(d, res, value_object_get(res, "kind"), "kind");
  const kind_info *k = kind ? kinds_find(kind->u.str.s) : NULL;
  const value *api = value_object_get(res, "apiVersion");
  /* Kustomize passes such a resource on, and the API server refuses it:
   * refused here, with the version a kind Plumb knows takes. */
  if (!api && k && k->api_version)
    diag_error(d, res->at, "resource has no apiVersion (a %s takes apiVersion: %s)", k->kind, k->api_version);
  else
    api = want_string(d, res, api, "apiVersion");
  const value *name = want_string(d, res, value_object_get(meta, "name"), "metadata.name");
  bool ok = api && kind && name;
  const char *rule = name && kind ? name_refused(k, name->u.str.s) : NULL;
  if (rule) {
    diag_error(d, name->at, "invalid %s name %s: expected %s", kind->secret ? "resource" : kind->u.str.s,
               value_quoted(d->arena, name), rule);
    ok = false;
  }
  const value *ns = value_object_get(meta, "namespace");
  if (ns && (ns->kind != V_STRING || !validate_dns_label(ns->u.str.s))) {
    diag_error(d, ns->at, "invalid namespace: expected at most 63 lowercase letters, digits or '-'");
    ok = false;
  }
  ok = check_map(d, value_object_get(meta, "labels"), "label", true) && ok;
  ok = check_map(d, value_object_get(meta, "annotations"), "annotation", false) && ok;
  return check_values(d, res, true) && ok;
}

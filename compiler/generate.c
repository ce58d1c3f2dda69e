/* generate.c: ConfigMap and Secret generators (see generate.h).
 *
 * Pairs come from literals, files and env files as Kustomize's
 * configMapGenerator and secretGenerator read them; the hash is computed
 * byte for byte as Kustomize's hasher does, so both tools name the same
 * content the same way. */
#include "generate.h"

#include <stdarg.h>
#include <string.h>

#include "plumb/emit.h"
#include "sha256.h"
#include "sops.h"
#include "validate.h"

/* One generator call: where it is, and the data it has gathered so far. */
typedef struct {
  eval *ev;
  pos at;
  const char *fn; /* "config_map" or "secret": names it in messages and in `via` */
  bool secret;
  value *data, *binary;
  /* The file the pairs being added were decrypted from (sops.h), whose
   * values are marked so; no file when they were not. */
  pos decrypted;
} gen;

static bool fail(const gen *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool fail(const gen *g, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *msg = arena_vprintf(eval_arena(g->ev), fmt, ap);
  va_end(ap);
  eval_fail(g->ev, g->at, "%s: %s", g->fn, msg);
  return false;
}

/* A value the generator made, tagged so `plumb explain` names it. */
static value *made(const gen *g, const char *s, size_t n) {
  value *v = value_string(eval_arena(g->ev), g->decrypted.file ? g->decrypted : g->at, s, n);
  v->via = g->fn;
  v->secret = g->decrypted.file != NULL;
  return v;
}

/* Kustomize's generators write base64 longer than one line of 70
 * characters as such lines, each ending in a newline, and hash those
 * bytes: so do these, or a certificate would get another name (and other
 * data) than under Kustomize. The API server decodes both forms alike. */
enum { BASE64_LINE = 70 };

static value *base64(const gen *g, const char *s, size_t n) {
  buf b = {0}, lines = {0};
  builtin_base64(&b, s, n);
  if (b.len >= BASE64_LINE) {
    for (size_t i = 0; i < b.len; i += BASE64_LINE) {
      buf_put(&lines, b.data + i, b.len - i < BASE64_LINE ? b.len - i : BASE64_LINE);
      buf_putc(&lines, '\n');
    }
    buf_free(&b);
    b = lines;
  }
  value *v = made(g, b.data ? b.data : "", b.len);
  buf_free(&b);
  return v;
}

/* `from` says where the pair came from, for messages. A Secret holds every
 * value base64-encoded; a ConfigMap keeps text in data and puts bytes that
 * are not UTF-8 in binaryData, base64-encoded, as the API requires. */
static bool add(gen *g, const char *from, const char *key, const char *val, size_t len) {
  arena *a = eval_arena(g->ev);
  if (!validate_config_key(key))
    return fail(g, "invalid key \"%s\" (%s): expected letters, digits, '-', '_' or '.'", key, from);
  if (value_object_get(g->data, key) || value_object_get(g->binary, key))
    return fail(g, "key \"%s\" is given twice (%s)", key, from);
  if (g->secret)
    value_object_set(a, g->data, key, base64(g, val, len));
  else if (emit_utf8_valid(val, len))
    value_object_set(a, g->data, key, made(g, val, len));
  else
    value_object_set(a, g->binary, key, base64(g, val, len));
  return true;
}

static bool add_literals(gen *g, const value *lits) {
  for (size_t i = 0; i < lits->u.obj.len; i++) {
    const field *f = &lits->u.obj.fields[i];
    if (f->val->kind != V_STRING)
      return fail(g, "literals.%s must be a string, got %s", f->key, value_kind_name(f->val->kind));
    if (!add(g, "literals", f->key, f->val->u.str.s, f->val->u.str.len)) return false;
  }
  return true;
}

/* A file's bytes; those of its plaintext, marked secret, when it is one
 * SOPS encrypted as dotenv or binary (sops.h), as Flux's generators read
 * such a file. */
static const value *read_file(gen *g, const value *path) {
  if (path->kind != V_STRING) return fail(g, "a file path must be a string, got %s", value_kind_name(path->kind)), NULL;
  const char *name, *text;
  size_t len;
  if (!eval_read_source(g->ev, g->at, g->fn, path->u.str.s, &name, &text, &len)) return NULL;
  bool encrypted = sops_text_encrypted(g->ev, name, text, len);
  if (encrypted && !(text = sops_text(g->ev, name, text, len, &len))) return NULL;
  value *v = value_string(eval_arena(g->ev), encrypted ? (pos){name, 1, 1} : g->at, text, len);
  v->secret = encrypted;
  return v;
}

static bool add_file(gen *g, const char *key, const value *path) {
  const value *text = read_file(g, path);
  if (!text) return false;
  g->decrypted = text->secret ? text->at : (pos){0};
  bool ok = add(g, path->u.str.s, key, text->u.str.s, text->u.str.len);
  g->decrypted = (pos){0};
  return ok;
}

/* files: a list of paths, each the key of its own base name, or an object
 * of key -> path. */
static bool add_files(gen *g, const value *files) {
  if (files->kind == V_OBJECT) {
    for (size_t i = 0; i < files->u.obj.len; i++)
      if (!add_file(g, files->u.obj.fields[i].key, files->u.obj.fields[i].val)) return false;
    return true;
  }
  for (size_t i = 0; i < files->u.list.len; i++) {
    const value *p = files->u.list.items[i];
    const char *slash = p->kind == V_STRING ? strrchr(p->u.str.s, '/') : NULL;
    if (!add_file(g, slash ? slash + 1 : p->kind == V_STRING ? p->u.str.s : "", p)) return false;
  }
  return true;
}

/* One line of an env file, as Kustomize reads it: leading whitespace and a
 * BOM on the first line are dropped; empty lines and '#' comments are
 * skipped; KEY=VALUE splits at the first '=' and keeps the value as it is
 * (quotes and trailing spaces included); a KEY alone has the empty value. */
static bool env_line(gen *g, const char *path, int line, const char *s, size_t n) {
  const char *from = arena_printf(eval_arena(g->ev), "%s line %d", path, line);
  if (!emit_utf8_valid(s, n)) return fail(g, "%s is not valid UTF-8", from);
  if (line == 1 && n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) s += 3, n -= 3;
  while (n && strchr(" \t\v\f\r", *s)) s++, n--;
  if (!n || *s == '#') return true;
  const char *eq = memchr(s, '=', n);
  size_t klen = eq ? (size_t)(eq - s) : n;
  const char *key = arena_strndup(eval_arena(g->ev), s, klen);
  return add(g, from, key, eq ? eq + 1 : "", eq ? n - klen - 1 : 0);
}

static bool add_env_file(gen *g, const value *path) {
  const value *text = read_file(g, path);
  if (!text) return false;
  g->decrypted = text->secret ? text->at : (pos){0};
  const char *s = text->u.str.s, *end = s + text->u.str.len;
  for (int line = 1; s < end; line++) {
    const char *nl = memchr(s, '\n', (size_t)(end - s)), *e = nl ? nl : end;
    size_t n = (size_t)(e - s);
    if (n && s[n - 1] == '\r') n--; /* Go's line scanner drops it */
    if (!env_line(g, path->u.str.s, line, s, n)) return false;
    s = nl ? nl + 1 : end;
  }
  g->decrypted = (pos){0};
  return true;
}

/* The spec's fields and the kinds of value each takes. */
typedef struct {
  const char *name;
  value_kind kind, alt; /* alt: a second kind allowed, or the same one */
  bool secret_only;
} spec_field;

static const spec_field spec_fields[] = {
    {"literals", V_OBJECT, V_OBJECT, false}, {"files", V_LIST, V_OBJECT, false}, {"envs", V_LIST, V_LIST, false},
    {"labels", V_OBJECT, V_OBJECT, false},   {"annotations", V_OBJECT, V_OBJECT, false},
    {"hash", V_BOOL, V_BOOL, false},         {"immutable", V_BOOL, V_BOOL, false},
    {"type", V_STRING, V_STRING, true},
};

static bool check_spec(gen *g, const value *spec) {
  for (size_t i = 0; i < spec->u.obj.len; i++) {
    const field *f = &spec->u.obj.fields[i];
    const spec_field *sf = NULL;
    for (size_t k = 0; k < sizeof spec_fields / sizeof *spec_fields; k++)
      if (strcmp(spec_fields[k].name, f->key) == 0 && (g->secret || !spec_fields[k].secret_only)) sf = &spec_fields[k];
    if (!sf)
      return fail(g, "unknown field \"%s\"; expected literals, files, envs, labels, annotations, hash, immutable%s",
                  f->key, g->secret ? " or type" : "");
    if (f->val->kind != sf->kind && f->val->kind != sf->alt)
      return fail(g, "%s must be %s%s%s, got %s", f->key, value_a(sf->kind), sf->alt != sf->kind ? " or " : "",
                  sf->alt != sf->kind ? value_a(sf->alt) : "", value_kind_name(f->val->kind));
  }
  return true;
}

/* In Kustomize's order: env files, then literals, then files. */
static bool gather(gen *g, const value *spec) {
  const value *envs = value_object_get(spec, "envs"), *lits = value_object_get(spec, "literals");
  const value *files = value_object_get(spec, "files");
  for (size_t i = 0; envs && i < envs->u.list.len; i++)
    if (!add_env_file(g, envs->u.list.items[i])) return false;
  return (!lits || add_literals(g, lits)) && (!files || add_files(g, files));
}

static void set_made(gen *g, value *obj, const char *key, const char *s) {
  value_object_set(eval_arena(g->ev), obj, key, made(g, s, strlen(s)));
}

static value *resource(gen *g, value *name, const value *spec) {
  arena *a = eval_arena(g->ev);
  value *r = value_object(a, g->at), *meta = value_object(a, g->at);
  set_made(g, r, "apiVersion", "v1");
  set_made(g, r, "kind", g->secret ? "Secret" : "ConfigMap");
  value_object_set(a, meta, "name", name);
  /* A copy: the build's stages may change the resource's own in place,
   * and the spec is the caller's. */
  static const char *const meta_keys[] = {"labels", "annotations"};
  for (int i = 0; i < 2; i++)
    if (value_object_get(spec, meta_keys[i]))
      value_object_set(a, meta, meta_keys[i], value_clone(a, value_object_get(spec, meta_keys[i])));
  value_object_set(a, r, "metadata", meta);
  if (g->data->u.obj.len) value_object_set(a, r, "data", g->data);
  if (g->binary->u.obj.len) value_object_set(a, r, "binaryData", g->binary);
  if (value_object_get(spec, "immutable")) value_object_set(a, r, "immutable", value_object_get(spec, "immutable"));
  if (g->secret) {
    value *type = value_object_get(spec, "type");
    value_object_set(a, r, "type", type ? type : made(g, "Opaque", 6));
  }
  const value *hash = value_object_get(spec, "hash");
  r->name_hash = !hash || hash->u.b;
  return r;
}

static value *generate(eval *ev, pos at, value **argv, int argc, const char *fn, bool secret) {
  arena *a = eval_arena(ev);
  gen g = {ev, at, fn, secret, value_object(a, at), value_object(a, at), {0}};
  if (argv[0]->kind != V_STRING) return fail(&g, "argument 1 must be a string, got %s", value_kind_name(argv[0]->kind)), NULL;
  const value *spec = argc > 1 ? argv[1] : value_object(a, at);
  if (spec->kind != V_OBJECT) return fail(&g, "argument 2 must be an object, got %s", value_kind_name(spec->kind)), NULL;
  if (!check_spec(&g, spec) || !gather(&g, spec)) return NULL;
  return resource(&g, argv[0], spec);
}

value *generate_config_map(eval *ev, pos at, value **argv, int argc) {
  return generate(ev, at, argv, argc, "config_map", false);
}

value *generate_secret(eval *ev, pos at, value **argv, int argc) {
  return generate(ev, at, argv, argc, "secret", true);
}

/* ---- the content hash ---------------------------------------------------- */

/* A field as Kustomize's hasher reads it: a map as JSON, a missing field as
 * the empty string. */
static void put_field(buf *b, const char *key, const value *v) {
  buf_putc(b, '"');
  buf_puts(b, key);
  buf_puts(b, "\":");
  if (v && (v->kind == V_OBJECT || v->kind == V_STRING))
    emit_json_go(b, v);
  else
    buf_puts(b, "\"\"");
}

/* Kustomize encodes {kind, name, data, ...} with Go's encoding/json, whose
 * keys come out sorted. Its name is always empty: the hasher looks the name
 * up under a key that does not exist ("metadata/name" read as one field),
 * so the hash depends on the content alone. */
static void encode(buf *b, const value *res) {
  const value *kind = value_object_get(res, "kind");
  bool secret = kind && kind->kind == V_STRING && strcmp(kind->u.str.s, "Secret") == 0;
  const value *binary = value_object_get(res, "binaryData"), *sdata = value_object_get(res, "stringData");
  buf_putc(b, '{');
  if (!secret && binary && binary->kind == V_OBJECT) {
    put_field(b, "binaryData", binary);
    buf_putc(b, ',');
  }
  put_field(b, "data", value_object_get(res, "data"));
  buf_puts(b, secret ? ",\"kind\":\"Secret\",\"name\":\"\"" : ",\"kind\":\"ConfigMap\",\"name\":\"\"");
  if (secret && sdata && sdata->kind == V_OBJECT) {
    buf_putc(b, ',');
    put_field(b, "stringData", sdata);
  }
  if (secret) {
    buf_putc(b, ',');
    put_field(b, "type", value_object_get(res, "type"));
  }
  buf_putc(b, '}');
}

/* The first ten hex digits of the SHA-256, with 0, 1, 3, a and e swapped for
 * letters, as kubectl's hash names do: fewer look-alikes and no words. */
const char *generate_content_hash(arena *a, const value *res) {
  buf b = {0};
  encode(&b, res);
  unsigned char md[SHA256_BYTES];
  sha256(b.data, b.len, md);
  buf_free(&b);
  char *out = arena_alloc(a, 11);
  static const char hex[] = "0123456789abcdef", swap_from[] = "013ae", swap_to[] = "ghkmt";
  for (int i = 0; i < 10; i++) {
    char c = hex[i % 2 ? md[i / 2] & 15 : md[i / 2] >> 4];
    const char *s = strchr(swap_from, c);
    out[i] = s ? swap_to[s - swap_from] : c;
  }
  return out;
}

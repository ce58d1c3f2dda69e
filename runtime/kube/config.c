/* config.c: where the cluster is and who we are to it, found as kubectl
 * finds it (client-go's clientcmd loading rules and rest.InClusterConfig),
 * and the bearer token of the moment: token files are re-read when they
 * rotate, exec plugins re-run when their credential expires. A kubeconfig
 * may also come as data (a Secret's), read the same way but refused the
 * files and commands a file's may use.
 *
 * Nothing here ever puts a credential into an error message: messages name
 * files, fields and users, never the token, password or key they hold. */
#include "plumb/kube.h"

#include <ctype.h>

#include <openssl/evp.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "plumb/arena.h"
#include "plumb/diag.h"
#include "plumb/yaml.h"

extern char **environ;

enum {
  MAX_KUBECONFIG = 16 << 20,
  MAX_TOKEN_FILE = 1 << 20,
  MAX_EXEC_OUT = 1 << 20,
  MAX_EXEC_ERR = 1024,
  EXEC_TIMEOUT_MS = 60 * 1000,
  /* A credential this close to expiry could lapse in flight: renew it. */
  EXPIRY_SLACK_S = 10,
};

#define SERVICE_ACCOUNT_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

/* What the load functions hand out: the public config and the identity of
 * the token file's contents cached in token, which the header has no field
 * for. Every kube_config must come from kube_config_load or _in_cluster. */
typedef struct {
  kube_config pub;
  struct stat token_st;
  bool token_cached;
} config_box;

static config_box *box_of(kube_config *c) { return (config_box *)((char *)c - offsetof(config_box, pub)); }

/* ---- small things -------------------------------------------------------- */

static int fail(char **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(char **err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *msg = heap_vprintf(fmt, ap);
  va_end(ap);
  if (err)
    *err = msg;
  else
    free(msg);
  return KUBE_ERROR;
}

/* A kubeconfig error at a node: "kubeconfig FILE:LINE:COL: reason". */
static int fail_at(char **err, pos at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail_at(char **err, pos at, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *msg = heap_vprintf(fmt, ap);
  va_end(ap);
  fail(err, "kubeconfig %s:%d:%d: %s", at.file, at.line, at.col, msg);
  free(msg);
  return KUBE_ERROR;
}

static char *copy_str(const char *s) {
  if (!s) return NULL;
  char *d = heap_strdup(s);
  return d;
}

/* Credentials are wiped before their memory goes back to malloc, so a later
 * core dump or heap read does not find them. */
static void free_secret(char *s) {
  if (!s) return;
  explicit_bzero(s, strlen(s));
  free(s);
}

static void free_strings(char **v) {
  for (size_t i = 0; v && v[i]; i++) free_secret(v[i]);
  free(v);
}

/* p as seen from dir: client-go resolves a kubeconfig's relative paths
 * against the directory of the file that names them. */
static char *join_path(const char *dir, const char *p) {
  if (p[0] == '/') return copy_str(p);
  char *out;
  out = heap_printf("%s/%s", dir, p);
  return out;
}

/* Trims both ends in place, as client-go's strings.TrimSpace does for token
 * and namespace files (editors and echo add a newline). */
static void trim(char *s) {
  size_t n = strlen(s), start = 0;
  while (n > 0 && isspace((unsigned char)s[n - 1])) n--;
  while (start < n && isspace((unsigned char)s[start])) start++;
  memmove(s, s + start, n - start);
  s[n - start] = '\0';
}

char *kube_read_file(const char *path, size_t max, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  buf b = {0};
  char chunk[4096];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && b.len <= max) buf_put(&b, chunk, n);
  int bad = ferror(f) ? (errno ? errno : EIO) : b.len > max ? EFBIG : 0;
  fclose(f);
  if (!bad && !b.data) buf_put(&b, "", 0);
  if (bad) {
    if (b.data) explicit_bzero(b.data, b.len);
    buf_free(&b);
    errno = bad;
    return NULL;
  }
  *len = b.len;
  return b.data;
}

static int base64_digit(char ch) {
  static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const char *p = ch ? strchr(digits, ch) : NULL;
  return p ? (int)(p - digits) : -1;
}

char *kube_base64_encode(const void *data, size_t len) {
  char *out = heap_alloc(4 * ((len + 2) / 3) + 1);
  EVP_EncodeBlock((unsigned char *)out, data, (int)len);
  return out;
}

char *kube_base64_decode(const char *s, size_t *len) {
  char *out = heap_alloc(strlen(s) / 4 * 3 + 4);
  unsigned acc = 0, bits = 0;
  size_t n = 0;
  bool padded = false;
  for (; *s; s++) {
    if (isspace((unsigned char)*s)) continue;
    if (*s == '=') {
      padded = true;
      continue;
    }
    int d = base64_digit(*s);
    if (d < 0 || padded) break;
    acc = acc << 6 | (unsigned)d;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = (char)(acc >> bits & 0xff);
    }
  }
  if (*s || bits >= 6) {
    explicit_bzero(out, n);
    free(out);
    return NULL;
  }
  out[n] = '\0';
  if (len) *len = n;
  return out;
}

/* ---- the kubeconfig files ------------------------------------------------ */

typedef struct {
  const char *path;
  char *dir;         /* absolute; NULL for a kubeconfig given as data */
  const value *root; /* the top mapping, NULL for an empty file */
} kc_file;

typedef struct {
  arena *a;
  kc_file *files;
  size_t n;
} kc_set;

/* The named lists of a kubeconfig and the key of each entry's body. */
static const char *const LISTS[][2] = {{"clusters", "cluster"}, {"users", "user"}, {"contexts", "context"}};

static const value *list_of(const value *root, const char *key) {
  const value *v = root ? value_object_get(root, key) : NULL;
  return v && v->kind == V_LIST ? v : NULL;
}

static const char *name_of(const value *entry) { return value_object_get(entry, "name")->u.str.s; }

/* Each list holds mappings with distinct names: client-go refuses anything
 * else when it decodes the file, used or not. */
static int check_list(const value *root, const char *key, char **err) {
  const value *l = value_object_get(root, key);
  if (!l || l->kind == V_NULL) return 0;
  if (l->kind != V_LIST) return fail_at(err, l->at, "%s must be a list, not %s", key, value_a(l->kind));
  for (size_t i = 0; i < l->u.list.len; i++) {
    const value *e = l->u.list.items[i], *name = e->kind == V_OBJECT ? value_object_get(e, "name") : NULL;
    if (!name || name->kind != V_STRING || !name->u.str.len)
      return fail_at(err, e->at, "every entry of %s needs a name", key);
    for (size_t j = 0; j < i; j++)
      if (strcmp(name_of(l->u.list.items[j]), name->u.str.s) == 0)
        return fail_at(err, name->at, "%s has two entries named \"%s\"", key, name->u.str.s);
  }
  return 0;
}

static char *dir_of(const char *path) {
  const char *slash = strrchr(path, '/');
  char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : NULL;
  if (!dir || dir[0] != '/') {
    char cwd[4096];
    if (!getcwd(cwd, sizeof cwd)) strcpy(cwd, ".");
    char *rel = dir;
    dir = rel ? join_path(cwd, rel) : copy_str(cwd);
    free(rel);
  }
  return dir;
}

/* Adds the kubeconfig text to s, called path in errors. s takes dir, where
 * its relative paths start; NULL for a kubeconfig given as data, which may
 * name no file and run no command (kube_config_parse). */
static int parse_file(kc_set *s, const char *path, char *dir, const char *text, size_t len, char **err) {
  diag_list d;
  diag_init(&d, s->a);
  value *docs;
  const char *name = arena_strdup(s->a, path);
  s->files = arena_grow(s->a, s->files, s->n * sizeof *s->files, (s->n + 1) * sizeof *s->files);
  s->files[s->n++] = (kc_file){name, dir, NULL};
  if (yaml_read(s->a, &d, name, text, len, &docs) < 0) return fail_at(err, d.first->at, "%s", d.first->msg);
  const value *root = docs->u.list.len ? docs->u.list.items[0] : NULL;
  if (root && root->kind == V_NULL) root = NULL;
  if (root && root->kind != V_OBJECT)
    return fail_at(err, root->at, "a kubeconfig is a mapping, not %s", value_a(root->kind));
  for (size_t i = 0; root && i < sizeof LISTS / sizeof *LISTS; i++)
    if (check_list(root, LISTS[i][0], err) < 0) return KUBE_ERROR;
  s->files[s->n - 1].root = root;
  return 0;
}

/* Reads and parses path into s; a missing file is skipped when it comes
 * from $KUBECONFIG or is the default, as kubectl skips it. */
static int add_file(kc_set *s, const char *path, bool may_be_missing, char **err) {
  size_t len;
  char *text = kube_read_file(path, MAX_KUBECONFIG, &len);
  if (!text && errno == ENOENT && may_be_missing) return 0;
  if (!text) return fail(err, "cannot read kubeconfig %s: %s", path, strerror(errno));
  int rc = parse_file(s, path, dir_of(path), text, len, err);
  free_secret(text);
  return rc;
}

/* Every file of $KUBECONFIG, once each, in order. */
static int add_env_files(kc_set *s, const char *list, char **err) {
  char *copy = copy_str(list), *save = NULL;
  int rc = 0;
  const char **seen = heap_calloc(strlen(list) + 1, sizeof *seen);
  size_t n = 0;
  for (char *p = strtok_r(copy, ":", &save); p && rc == 0; p = strtok_r(NULL, ":", &save)) {
    bool dup = false;
    for (size_t i = 0; i < n; i++) dup = dup || strcmp(seen[i], p) == 0;
    if (!dup) rc = add_file(s, seen[n++] = p, true, err);
  }
  free(seen);
  free(copy);
  return rc;
}

/* The files to read: path, else $KUBECONFIG, else ~/.kube/config.
 * KUBE_ENOTFOUND when there is no kubeconfig at all, so a caller can fall
 * back to in-cluster configuration as client-go does. */
static int gather(kc_set *s, const char *path, char **err) {
  if (path && *path) return add_file(s, path, false, err);
  const char *env = getenv("KUBECONFIG"), *home = getenv("HOME");
  if (env && *env) {
    if (add_env_files(s, env, err) < 0) return KUBE_ERROR;
    if (s->n) return 0;
    fail(err, "no kubeconfig: none of the files in KUBECONFIG exist (%s)", env);
    return KUBE_ENOTFOUND;
  }
  if (!home || !*home) {
    fail(err, "no kubeconfig: HOME is not set and KUBECONFIG names no file");
    return KUBE_ENOTFOUND;
  }
  char *def = join_path(home, ".kube/config");
  int rc = add_file(s, def, true, err);
  if (rc == 0 && !s->n) {
    fail(err, "no kubeconfig: %s does not exist and KUBECONFIG is not set", def);
    rc = KUBE_ENOTFOUND;
  }
  free(def);
  return rc;
}

/* The entry of list `key` named `name` in the first file that has one:
 * kubectl's merge lets the first file win for every name. */
static const value *find_entry(const kc_set *s, const char *key, const char *name, const kc_file **from) {
  for (size_t f = 0; f < s->n; f++) {
    const value *l = list_of(s->files[f].root, key);
    for (size_t i = 0; l && i < l->u.list.len; i++)
      if (strcmp(name_of(l->u.list.items[i]), name) == 0) {
        if (from) *from = &s->files[f];
        return l->u.list.items[i];
      }
  }
  return NULL;
}

/* obj[key] when set: NULL when absent, null or "", which client-go cannot
 * tell apart; another kind than a string is an error, as in kubectl. */
static int field_str(const value *obj, const char *key, const value **out, char **err) {
  const value *v = obj ? value_object_get(obj, key) : NULL;
  *out = NULL;
  if (!v || v->kind == V_NULL) return 0;
  if (v->kind != V_STRING) return fail_at(err, v->at, "%s must be a string, not %s", key, value_a(v->kind));
  if (v->u.str.len) *out = v;
  return 0;
}

static const char *text_of(const value *v) { return v ? v->u.str.s : NULL; }

/* An entry's body (its "cluster", "user" or "context" mapping), or NULL. */
static int entry_body(const value *entry, const char *key, const value **out, char **err) {
  const value *v = value_object_get(entry, key);
  *out = NULL;
  if (!v || v->kind == V_NULL) return 0;
  if (v->kind != V_OBJECT)
    return fail_at(err, v->at, "%s of \"%s\" must be a mapping, not %s", key, name_of(entry), value_a(v->kind));
  *out = v;
  return 0;
}

/* ---- fields -------------------------------------------------------------- */

typedef enum { F_TEXT, F_PATH, F_BASE64 } field_form;

typedef struct {
  const char *key;
  field_form form;
  size_t off; /* of the char * in kube_config */
} field_spec;

#define FIELD(key, form, member) {key, form, offsetof(kube_config, member)}

static const field_spec CLUSTER_FIELDS[] = {
    FIELD("server", F_TEXT, server),
    FIELD("certificate-authority", F_PATH, ca_file),
    FIELD("certificate-authority-data", F_BASE64, ca_pem),
    FIELD("tls-server-name", F_TEXT, tls_server_name),
};

static const field_spec USER_FIELDS[] = {
    FIELD("token", F_TEXT, token),
    FIELD("tokenFile", F_PATH, token_file),
    FIELD("client-certificate", F_PATH, cert_file),
    FIELD("client-certificate-data", F_BASE64, cert_pem),
    FIELD("client-key", F_PATH, key_file),
    FIELD("client-key-data", F_BASE64, key_pem),
    FIELD("username", F_TEXT, username),
    FIELD("password", F_TEXT, password),
};

/* A kubeconfig given as data comes from whoever may write where it is kept
 * (a Secret): letting it name a file or a command would let them read the
 * runtime's files (its service-account token) or run commands as it. */
static int refuse_outside(char **err, pos at, const char *what, const char *does, const char *would) {
  return fail_at(err, at, "%s %s, which a kubeconfig given as data may not: it would %s; embed the credential instead",
                 what, does, would);
}

static int take_field(kube_config *c, const value *body, const kc_file *from, const field_spec *f, char **err) {
  const value *v;
  if (field_str(body, f->key, &v, err) < 0) return KUBE_ERROR;
  if (!v) return 0;
  char **slot = (char **)((char *)c + f->off);
  switch (f->form) {
  case F_TEXT: *slot = copy_str(v->u.str.s); return 0;
  case F_BASE64:
    *slot = kube_base64_decode(v->u.str.s, NULL);
    return *slot ? 0 : fail_at(err, v->at, "%s is not valid base64", f->key);
  case F_PATH:
    if (!from->dir) return refuse_outside(err, v->at, f->key, "names a file", "read the runtime's own files");
    *slot = join_path(from->dir, v->u.str.s);
    /* client-go checks the files when it validates the config; a bad path
     * is clearer here than as a TLS failure later. */
    if (access(*slot, R_OK) != 0) return fail_at(err, v->at, "cannot read %s %s: %s", f->key, *slot, strerror(errno));
    return 0;
  }
  return 0;
}

static int take_fields(kube_config *c, const value *body, const kc_file *from, const field_spec *f, size_t n,
                       char **err) {
  for (size_t i = 0; i < n; i++)
    if (take_field(c, body, from, &f[i], err) < 0) return KUBE_ERROR;
  return 0;
}

/* ---- context, cluster, user ---------------------------------------------- */

static int current_context(const kc_set *s, const char **out, char **err) {
  *out = NULL;
  for (size_t f = 0; f < s->n && !*out; f++) {
    const value *v;
    if (field_str(s->files[f].root, "current-context", &v, err) < 0) return KUBE_ERROR;
    *out = text_of(v);
  }
  return 0;
}

static int unknown_context(const kc_set *s, const char *want, int rc, char **err) {
  buf known = {0};
  for (size_t f = 0; f < s->n; f++) {
    const value *l = list_of(s->files[f].root, "contexts");
    for (size_t i = 0; l && i < l->u.list.len; i++) {
      const char *name = name_of(l->u.list.items[i]);
      if (find_entry(s, "contexts", name, NULL) == l->u.list.items[i])
        buf_printf(&known, "%s%s", known.len ? ", " : "", name);
    }
  }
  fail(err, "context \"%s\" not found in kubeconfig (known: %s)", want, known.len ? known.data : "none");
  buf_free(&known);
  return rc;
}

/* A context asked for by name that the kubeconfig lacks is KUBE_ENOTFOUND:
 * the runtime then looks for the name elsewhere. A missing current-context
 * is a broken kubeconfig. */
static int take_context(const kc_set *s, const char *want, kube_config *c, char **err) {
  bool named = want && *want;
  if (!named && current_context(s, &want, err) < 0) return KUBE_ERROR;
  if (!want) return fail(err, "no current-context set in kubeconfig; pass --context");
  const value *entry = find_entry(s, "contexts", want, NULL), *body, *cluster, *user, *ns;
  if (!entry) return unknown_context(s, want, named ? KUBE_ENOTFOUND : KUBE_ERROR, err);
  if (entry_body(entry, "context", &body, err) < 0 || field_str(body, "cluster", &cluster, err) < 0 ||
      field_str(body, "user", &user, err) < 0 || field_str(body, "namespace", &ns, err) < 0)
    return KUBE_ERROR;
  c->context = copy_str(want);
  c->cluster = copy_str(text_of(cluster));
  c->user = copy_str(text_of(user));
  c->namespace = copy_str(text_of(ns));
  if (!cluster) return fail(err, "context \"%s\" names no cluster", want);
  return 0;
}

static int field_bool(const value *obj, const char *key, bool *out, char **err) {
  const value *v = obj ? value_object_get(obj, key) : NULL;
  if (!v || v->kind == V_NULL) return 0;
  if (v->kind != V_BOOL) return fail_at(err, v->at, "%s must be true or false, not %s", key, value_a(v->kind));
  *out = v->u.b;
  return 0;
}

/* https://host:port without the trailing slash that joins badly with API
 * paths. A server without a scheme gets https: client-go would pick http
 * when no CA or client certificate is set, which would send the token in
 * clear. */
static void normalize_server(kube_config *c) {
  size_t n = strlen(c->server);
  while (n > 0 && c->server[n - 1] == '/') c->server[--n] = '\0';
  if (strstr(c->server, "://")) return;
  char *with;
  with = heap_printf("https://%s", c->server);
  free(c->server);
  c->server = with;
}

static int take_cluster(const kc_set *s, kube_config *c, char **err) {
  const kc_file *from;
  const value *entry = find_entry(s, "clusters", c->cluster, &from), *body;
  if (!entry) return fail(err, "cluster \"%s\" of context \"%s\" not found", c->cluster, c->context);
  if (entry_body(entry, "cluster", &body, err) < 0 ||
      take_fields(c, body, from, CLUSTER_FIELDS, sizeof CLUSTER_FIELDS / sizeof *CLUSTER_FIELDS, err) < 0 ||
      field_bool(body, "insecure-skip-tls-verify", &c->insecure, err) < 0)
    return KUBE_ERROR;
  if (!c->server) return fail(err, "kubeconfig has no server for cluster \"%s\"", c->cluster);
  normalize_server(c);
  /* As in client-go, the -data form overrides the file. */
  if (c->ca_pem) free(c->ca_file), c->ca_file = NULL;
  if (c->insecure && (c->ca_file || c->ca_pem))
    return fail(err, "cluster \"%s\" sets both insecure-skip-tls-verify and a certificate authority; keep one",
                c->cluster);
  return 0;
}

static char **push_string(char **v, size_t *n, char *s) {
  v = heap_realloc(v, (*n + 2) * sizeof *v);
  v[(*n)++] = s;
  v[*n] = NULL;
  return v;
}

/* An empty NULL-terminated list of strings. */
static char **no_strings(void) {
  char **v = heap_calloc(1, sizeof *v);
  return v;
}

static int exec_args(kube_exec *x, const value *spec, char **err) {
  const value *l = value_object_get(spec, "args");
  size_t n = 0;
  x->args = no_strings();
  if (!l || l->kind == V_NULL) return 0;
  if (l->kind != V_LIST) return fail_at(err, l->at, "exec args must be a list, not %s", value_a(l->kind));
  for (size_t i = 0; i < l->u.list.len; i++) {
    const value *a = l->u.list.items[i];
    if (a->kind != V_STRING) return fail_at(err, a->at, "exec args must be strings, not %s", value_a(a->kind));
    x->args = push_string(x->args, &n, copy_str(a->u.str.s));
  }
  return 0;
}

static int exec_env(kube_exec *x, const value *spec, char **err) {
  const value *l = value_object_get(spec, "env");
  size_t n = 0;
  x->env = no_strings();
  if (!l || l->kind == V_NULL) return 0;
  if (l->kind != V_LIST) return fail_at(err, l->at, "exec env must be a list, not %s", value_a(l->kind));
  for (size_t i = 0; i < l->u.list.len; i++) {
    const value *e = l->u.list.items[i], *name, *val;
    if (e->kind != V_OBJECT) return fail_at(err, e->at, "exec env entries are {name, value} mappings");
    if (field_str(e, "name", &name, err) < 0 || field_str(e, "value", &val, err) < 0) return KUBE_ERROR;
    if (!name) return fail_at(err, e->at, "exec env entries need a name");
    char *pair;
    pair = heap_printf("%s=%s", name->u.str.s, val ? val->u.str.s : "");
    x->env = push_string(x->env, &n, pair);
  }
  return 0;
}

static int take_exec(kube_config *c, const value *body, const kc_file *from, char **err) {
  const value *spec = body ? value_object_get(body, "exec") : NULL, *cmd, *api;
  if (!spec || spec->kind == V_NULL) return 0;
  if (spec->kind != V_OBJECT) return fail_at(err, spec->at, "exec must be a mapping, not %s", value_a(spec->kind));
  if (!from->dir) return refuse_outside(err, spec->at, "exec", "runs a credential plugin", "run commands as the runtime");
  if (field_str(spec, "command", &cmd, err) < 0 || field_str(spec, "apiVersion", &api, err) < 0) return KUBE_ERROR;
  if (!cmd) return fail_at(err, spec->at, "exec of user \"%s\" needs a command", c->user);
  if (!api) return fail_at(err, spec->at, "exec of user \"%s\" needs an apiVersion", c->user);
  kube_exec *x = c->exec = heap_calloc(1, sizeof *x);
  /* A command with a slash is a path, relative to the kubeconfig's
   * directory (client-go); a bare name is looked up in PATH. */
  x->command = strchr(cmd->u.str.s, '/') ? join_path(from->dir, cmd->u.str.s) : copy_str(cmd->u.str.s);
  x->api_version = copy_str(api->u.str.s);
  return exec_args(x, spec, err) < 0 ? KUBE_ERROR : exec_env(x, spec, err);
}

/* The combinations client-go refuses, and auth providers, which it has
 * dropped in favour of exec plugins. */
static int check_user(const kube_config *c, const value *body, char **err) {
  const value *ap = body ? value_object_get(body, "auth-provider") : NULL, *name = NULL;
  if (ap && ap->kind == V_OBJECT && field_str(ap, "name", &name, err) < 0) return KUBE_ERROR;
  if (ap && ap->kind != V_NULL)
    return fail(err, "user \"%s\" uses auth-provider \"%s\", which plumb does not support; use an exec plugin",
                c->user, name ? name->u.str.s : "?");
  if ((c->token || c->token_file) && (c->username || c->password))
    return fail(err, "user \"%s\" has both a token and a username/password; keep one", c->user);
  if (!(c->cert_file || c->cert_pem) != !(c->key_file || c->key_pem))
    return fail(err, "user \"%s\" needs both a client certificate and a client key", c->user);
  return 0;
}

static int read_token_file(kube_config *c, char **err);

static int take_user(const kc_set *s, kube_config *c, char **err) {
  if (!c->user) return 0; /* no user: anonymous requests */
  const kc_file *from;
  const value *entry = find_entry(s, "users", c->user, &from), *body;
  if (!entry) return fail(err, "user \"%s\" of context \"%s\" not found", c->user, c->context);
  if (entry_body(entry, "user", &body, err) < 0 ||
      take_fields(c, body, from, USER_FIELDS, sizeof USER_FIELDS / sizeof *USER_FIELDS, err) < 0 ||
      take_exec(c, body, from, err) < 0 || check_user(c, body, err) < 0)
    return KUBE_ERROR;
  if (c->cert_pem) free(c->cert_file), c->cert_file = NULL;
  if (c->key_pem) free(c->key_file), c->key_file = NULL;
  return c->token_file ? read_token_file(c, err) : 0;
}

static kube_config *config_new(void) {
  config_box *b = heap_calloc(1, sizeof *b);
  return &b->pub;
}

/* The config of context (or current-context) from what rc, the reading of
 * s's files, left; frees s. */
static int resolve(kc_set *s, int rc, const char *context, kube_config **out, char **err) {
  kube_config *c = config_new();
  if (rc == 0 && (rc = take_context(s, context, c, err)) == 0 &&
      (take_cluster(s, c, err) < 0 || take_user(s, c, err) < 0))
    rc = KUBE_ERROR;
  for (size_t i = 0; i < s->n; i++) free(s->files[i].dir);
  arena_free(s->a);
  if (rc != 0) kube_config_free(c), c = NULL;
  *out = c;
  return rc;
}

int kube_config_load(kube_config **out, const char *path, const char *context, char **err) {
  kc_set s = {.a = arena_new()};
  return resolve(&s, gather(&s, path, err), context, out, err);
}

int kube_config_parse(kube_config **out, const char *name, const char *text, size_t len, const char *context,
                      char **err) {
  kc_set s = {.a = arena_new()};
  return resolve(&s, parse_file(&s, name, NULL, text, len, err), context, out, err);
}

/* ---- in-cluster ---------------------------------------------------------- */

/* POD_NAMESPACE, then the service account's namespace file, then "default",
 * the order of client-go's in-cluster config. */
static char *pod_namespace(const char *dir) {
  const char *env = getenv("POD_NAMESPACE");
  if (env && *env) return copy_str(env);
  char *path = join_path(dir, "namespace"), *ns;
  size_t len;
  ns = kube_read_file(path, MAX_TOKEN_FILE, &len);
  free(path);
  if (ns) trim(ns);
  if (ns && *ns) return ns;
  free(ns);
  return copy_str("default");
}

int kube_config_in_cluster(kube_config **out, const char *dir, char **err) {
  const char *host = getenv("KUBERNETES_SERVICE_HOST"), *port = getenv("KUBERNETES_SERVICE_PORT");
  *out = NULL;
  if (!host || !*host || !port || !*port) {
    fail(err, "not running in a Kubernetes cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set");
    return KUBE_ENOTFOUND;
  }
  if (!dir) dir = SERVICE_ACCOUNT_DIR;
  kube_config *c = config_new();
  c->context = copy_str("in-cluster");
  c->cluster = copy_str("in-cluster");
  c->user = copy_str("in-cluster");
  bool v6 = strchr(host, ':') && host[0] != '[';
  c->server = heap_printf(v6 ? "https://[%s]:%s" : "https://%s:%s", host, port);
  c->token_file = join_path(dir, "token");
  c->ca_file = join_path(dir, "ca.crt");
  /* client-go carries on without the CA file (system roots then). */
  if (access(c->ca_file, R_OK) != 0) free(c->ca_file), c->ca_file = NULL;
  c->namespace = pod_namespace(dir);
  if (read_token_file(c, err) < 0) {
    kube_config_free(c);
    return KUBE_ERROR;
  }
  *out = c;
  return 0;
}

void kube_config_free(kube_config *c) {
  if (!c) return;
  char *all[] = {c->context, c->cluster, c->user, c->server, c->namespace, c->ca_file, c->ca_pem,
                 c->tls_server_name, c->token, c->token_file, c->cert_file, c->cert_pem, c->key_file,
                 c->key_pem, c->username, c->password, c->exec_token, c->exec_cert_pem, c->exec_key_pem};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) free_secret(all[i]);
  if (c->exec) {
    free(c->exec->command);
    free(c->exec->api_version);
    free_strings(c->exec->args);
    free_strings(c->exec->env);
    free(c->exec);
  }
  free(box_of(c));
}

/* ---- token files --------------------------------------------------------- */

/* A rotated token file is a new inode (kubelet swaps a symlink) or a new
 * mtime or size (rewritten in place). */
static bool same_file(const struct stat *a, const struct stat *b) {
  return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
         a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* When the token file cannot be read the last token stays in use, as with
 * client-go's cached file token source: a rotation in progress must not
 * fail requests. A static token from the kubeconfig counts as the last. */
static int token_file_error(const kube_config *c, int errnum, char **err) {
  if (c->token) return 0;
  if (!errnum) return fail(err, "token file %s is empty", c->token_file);
  return fail(err, "cannot read token file %s: %s", c->token_file, strerror(errnum));
}

/* Keeps c->token in step with c->token_file, reading the file only when it
 * changed since the last read. */
static int read_token_file(kube_config *c, char **err) {
  config_box *b = box_of(c);
  struct stat st;
  size_t len;
  if (stat(c->token_file, &st) != 0) return token_file_error(c, errno, err);
  if (b->token_cached && same_file(&b->token_st, &st)) return 0;
  char *text = kube_read_file(c->token_file, MAX_TOKEN_FILE, &len);
  if (!text) return token_file_error(c, errno, err);
  trim(text);
  if (!*text) {
    free(text);
    return token_file_error(c, 0, err);
  }
  free_secret(c->token);
  c->token = text;
  b->token_st = st;
  b->token_cached = true;
  return 0;
}

/* ---- exec plugins -------------------------------------------------------- */

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Whether b ("NAME=value") sets the variable a sets. */
static bool same_name(const char *a, const char *b) {
  size_t n = strcspn(a, "=");
  return strncmp(a, b, n) == 0 && b[n] == '=';
}

/* The plugin's environment: ours, then the kubeconfig's env, then info, a
 * later entry replacing an earlier one of the same name as in client-go.
 * The strings are borrowed. */
static char **plugin_env(const kube_exec *x, char *info) {
  size_t ne = 0, nx = 0, n = 0;
  while (environ[ne]) ne++;
  while (x->env && x->env[nx]) nx++;
  char **all = heap_alloc((ne + nx + 1) * sizeof *all), **out = heap_alloc((ne + nx + 2) * sizeof *out);
  memcpy(all, environ, ne * sizeof *all);
  if (nx) memcpy(all + ne, x->env, nx * sizeof *all);
  all[ne + nx] = info;
  for (size_t i = 0; i <= ne + nx; i++) {
    bool replaced = false;
    for (size_t j = i + 1; j <= ne + nx && !replaced; j++) replaced = same_name(all[i], all[j]);
    if (!replaced) out[n++] = all[i];
  }
  out[n] = NULL;
  free(all);
  return out;
}

/* KUBERNETES_EXEC_INFO tells the plugin which ExecCredential version to
 * print and that nobody is at a terminal to answer prompts. */
static char *exec_info(const kube_exec *x) {
  json_t *j = json_pack("{s:s, s:s, s:{s:b}}", "apiVersion", x->api_version, "kind", "ExecCredential", "spec",
                        "interactive", 0);
  char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
  if (!text) abort(); /* jansson: out of memory */
  char *info = heap_printf("KUBERNETES_EXEC_INFO=%s", text);
  free(text);
  json_decref(j);
  return info;
}

static char **plugin_argv(const kube_exec *x) {
  size_t n = 0;
  while (x->args && x->args[n]) n++;
  char **argv = heap_alloc((n + 2) * sizeof *argv);
  argv[0] = x->command;
  if (n) memcpy(argv + 1, x->args, n * sizeof *argv);
  argv[n + 1] = NULL;
  return argv;
}

typedef struct {
  pid_t pid;
  int out, err; /* read ends of its stdout and stderr */
} plugin_proc;

static void close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

/* posix_spawnp rather than fork: the client may run threads (libcurl's
 * resolver), and after fork only async-signal-safe calls are allowed. The
 * plugin reads /dev/null: it must not wait for a user who is not there. */
static int spawn_plugin(const kube_exec *x, plugin_proc *p, char **err) {
  int out[2] = {-1, -1}, errp[2] = {-1, -1};
  if (pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
    int e = errno;
    close_fd(&out[0]), close_fd(&out[1]);
    return fail(err, "cannot run exec plugin \"%s\": %s", x->command, strerror(e));
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, errp[1], 2);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  char *info = exec_info(x), **argv = plugin_argv(x), **envp = plugin_env(x, info);
  int rc = posix_spawnp(&p->pid, x->command, &fa, NULL, argv, envp);
  posix_spawn_file_actions_destroy(&fa);
  free(envp);
  free(argv);
  free(info);
  close_fd(&out[1]), close_fd(&errp[1]);
  p->out = out[0], p->err = errp[0];
  if (rc == 0) return 0;
  close_fd(&p->out), close_fd(&p->err);
  return fail(err, "cannot run exec plugin \"%s\": %s", x->command, strerror(rc));
}

/* One read from fd into b, keeping at most max bytes in all: the rest of a
 * chatty stderr is read and dropped so the plugin never blocks on it. */
static ssize_t drain(int fd, buf *b, size_t max) {
  char chunk[4096];
  ssize_t n = read(fd, chunk, sizeof chunk);
  if (n > 0 && b->len < max) buf_put(b, chunk, (size_t)n < max - b->len ? (size_t)n : max - b->len);
  return n;
}

/* Reads the plugin's stdout and stderr until it closes both. NULL, or what
 * went wrong. */
static const char *collect(const plugin_proc *p, buf *out, buf *errb, long long deadline) {
  struct pollfd fds[2] = {{p->out, POLLIN, 0}, {p->err, POLLIN, 0}};
  while (fds[0].fd >= 0 || fds[1].fd >= 0) {
    long long left = deadline - now_ms();
    if (left <= 0) return "did not finish within 60 s";
    int ready = poll(fds, 2, (int)left);
    if (ready < 0 && errno != EINTR) return "could not be read from";
    if (ready <= 0) continue; /* revents are stale after EINTR */
    for (int i = 0; i < 2; i++) {
      if (fds[i].fd < 0 || !fds[i].revents) continue;
      ssize_t n = drain(fds[i].fd, i ? errb : out, i ? MAX_EXEC_ERR : MAX_EXEC_OUT + 1);
      if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) fds[i].fd = -1;
    }
    if (out->len > MAX_EXEC_OUT) return "printed more than 1 MiB";
  }
  return NULL;
}

/* The plugin's exit status; past the deadline it is killed. NULL, or what
 * went wrong. */
static const char *reap(pid_t pid, long long deadline, int *status) {
  struct timespec tick = {0, 5 * 1000 * 1000};
  for (;;) {
    pid_t r = waitpid(pid, status, WNOHANG);
    if (r == pid) return NULL;
    if (r < 0 && errno != EINTR) return "could not be waited for";
    if (now_ms() >= deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, status, 0);
      return "did not finish within 60 s";
    }
    nanosleep(&tick, NULL);
  }
}

static int run_plugin(const kube_exec *x, buf *out, buf *errb, int *status, char **err) {
  plugin_proc p;
  if (spawn_plugin(x, &p, err) < 0) return KUBE_ERROR;
  long long deadline = now_ms() + EXEC_TIMEOUT_MS;
  const char *why = collect(&p, out, errb, deadline);
  if (why) kill(p.pid, SIGKILL);
  const char *reaped = reap(p.pid, deadline, status);
  close_fd(&p.out), close_fd(&p.err);
  if (!why) why = reaped;
  return why ? fail(err, "exec plugin \"%s\" %s", x->command, why) : 0;
}

static int plugin_failed(const kube_config *c, int status, buf *errb, char **err) {
  char how[64];
  if (WIFEXITED(status))
    snprintf(how, sizeof how, "exit status %d", WEXITSTATUS(status));
  else
    snprintf(how, sizeof how, "killed by signal %d", WTERMSIG(status));
  buf_puts(errb, ""); /* a NUL-terminated string even when it said nothing */
  trim(errb->data);
  return fail(err, "exec plugin \"%s\" of user \"%s\" failed (%s)%s%s", c->exec->command, c->user ? c->user : "?",
              how, *errb->data ? ": " : "", errb->data);
}

/* RFC 3339 as Go's time.RFC3339 reads it: date 'T' time, an optional
 * fraction, then 'Z' or a +hh:mm offset. */
static int parse_rfc3339(const char *s, long long *out) {
  struct tm tm = {0};
  const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
  int hh = 0, mm = 0, len = 0, sign = 0;
  if (!p) return -1;
  if (*p == '.' && isdigit((unsigned char)p[1]))
    for (p++; isdigit((unsigned char)*p);) p++;
  if (*p == 'Z' || *p == 'z') p++;
  else if ((*p == '+' || *p == '-') && sscanf(p + 1, "%2d:%2d%n", &hh, &mm, &len) == 2 && len == 5)
    sign = *p == '-' ? -1 : 1, p += 1 + len;
  else return -1;
  if (*p) return -1;
  *out = (long long)timegm(&tm) - sign * (hh * 3600LL + mm * 60);
  return 0;
}

static const char *json_text(const json_t *obj, const char *key) {
  const char *s = kube_str(obj, key);
  return s && *s ? s : NULL;
}

static int take_credential(kube_config *c, const json_t *j, char **err) {
  const kube_exec *x = c->exec;
  const json_t *st = json_object_get(j, "status");
  const char *api = json_text(j, "apiVersion"), *token = json_text(st, "token"),
             *cert = json_text(st, "clientCertificateData"), *key = json_text(st, "clientKeyData"),
             *expiry = json_text(st, "expirationTimestamp");
  long long when = 0;
  if (!api || strcmp(api, x->api_version) != 0)
    return fail(err, "exec plugin \"%s\" returned apiVersion \"%.64s\", but the kubeconfig asks for \"%s\"",
                x->command, api ? api : "", x->api_version);
  if (!token && !cert)
    return fail(err, "exec plugin \"%s\" returned neither status.token nor status.clientCertificateData", x->command);
  if (!cert != !key)
    return fail(err, "exec plugin \"%s\" returned only one of clientCertificateData and clientKeyData", x->command);
  if (expiry && parse_rfc3339(expiry, &when) < 0)
    return fail(err, "exec plugin \"%s\" returned expirationTimestamp \"%.64s\", which is not RFC 3339",
                x->command, expiry);
  free_secret(c->exec_token), free_secret(c->exec_cert_pem), free_secret(c->exec_key_pem);
  c->exec_token = copy_str(token);
  c->exec_cert_pem = copy_str(cert);
  c->exec_key_pem = copy_str(key);
  c->exec_expiry = when;
  return 0;
}

static int parse_credential(kube_config *c, const char *text, size_t len, char **err) {
  json_error_t je;
  json_t *j = json_loadb(text, len, 0, &je);
  /* jansson's message quotes the text near the error, which may be the
   * token: give the position only. */
  if (!j)
    return fail(err, "exec plugin \"%s\" printed no ExecCredential (invalid JSON at line %d, column %d)",
                c->exec->command, je.line, je.column);
  int rc = take_credential(c, j, err);
  json_decref(j);
  return rc;
}

static int exec_refresh(kube_config *c, char **err) {
  buf out = {0}, errb = {0};
  int status = 0, rc = run_plugin(c->exec, &out, &errb, &status, err);
  if (rc == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) rc = plugin_failed(c, status, &errb, err);
  if (rc == 0) rc = parse_credential(c, out.data ? out.data : "", out.len, err);
  if (out.data) explicit_bzero(out.data, out.len);
  buf_free(&out);
  buf_free(&errb);
  return rc;
}

/* Cached until expiry; a credential without one lasts until the caller
 * drops it (after a 401, set exec_expiry to 1 to force a new one). */
static bool exec_fresh(const kube_config *c) {
  if (!c->exec_token && !c->exec_cert_pem) return false;
  return c->exec_expiry == 0 || c->exec_expiry - (long long)time(NULL) > EXPIRY_SLACK_S;
}

/* token_file, then token, then exec: a static token wins over an exec
 * plugin as in client-go, whose exec transport leaves a request that
 * already carries Authorization alone. */
int kube_config_bearer(kube_config *c, const char **token, char **err) {
  *token = NULL;
  if (c->token_file && read_token_file(c, err) < 0) return KUBE_ERROR;
  if (c->token) {
    *token = c->token;
    return 0;
  }
  if (!c->exec) return 0;
  if (!exec_fresh(c) && exec_refresh(c, err) < 0) return KUBE_ERROR;
  *token = c->exec_token;
  return 0;
}

/* test_kubeconfig.c: finding the cluster and the credentials as kubectl
 * does, and never saying a credential out loud. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "plumb/kube.h"

static char root[64];
static char plugin[PATH_MAX]; /* tests/kube/exec-plugin.sh, absolute */

/* root/REL; the last few results stay valid, enough for one assertion. */
static const char *at(const char *rel) {
  static char ring[8][256];
  static int next;
  char *p = ring[next++ % 8];
  snprintf(p, sizeof ring[0], "%s/%s", root, rel);
  return p;
}

static void write_file(const char *rel, const char *text) {
  FILE *f = fopen(at(rel), "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static int setup(void **state) {
  strcpy(root, "/tmp/plumb-kubeconfig-XXXXXX");
  assert_non_null(mkdtemp(root));
  assert_int_equal(mkdir(at("home"), 0777), 0);
  assert_int_equal(mkdir(at("home/.kube"), 0777), 0);
  assert_int_equal(mkdir(at("sub"), 0777), 0);
  assert_int_equal(mkdir(at("sa"), 0777), 0);
  assert_non_null(realpath("tests/kube/exec-plugin.sh", plugin));
  return 0;
}

static int teardown(void **state) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", root);
  assert_int_equal(system(cmd), 0);
  return 0;
}

/* Each test starts with no KUBECONFIG, HOME in root/home, no cluster env. */
static int fresh(void **state) {
  const char *vars[] = {"KUBECONFIG", "POD_NAMESPACE", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT",
                        "PLUMB_TEST_EXEC_EXPIRY", "PLUMB_TEST_EXEC_MODE", "PLUMB_TEST_EXEC_STDERR"};
  for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) unsetenv(vars[i]);
  setenv("HOME", at("home"), 1);
  setenv("PLUMB_TEST_EXEC_COUNT", at("exec-count"), 1);
  unlink(at("exec-count"));
  return 0;
}

static kube_config *load(const char *path, const char *context) {
  kube_config *c = NULL;
  char *err = NULL;
  if (kube_config_load(&c, path, context, &err) != 0) fail_msg("load: %s", err);
  assert_non_null(c);
  return c;
}

static void assert_load_fails(const char *path, const char *context, int rc, const char *msg) {
  kube_config *c = (kube_config *)1;
  char *err = NULL;
  assert_int_equal(kube_config_load(&c, path, context, &err), rc);
  assert_null(c);
  assert_non_null(err);
  assert_string_equal(err, msg);
  free(err);
}

/* The message of a failed load, to be freed. */
static char *load_error(const char *path) {
  kube_config *c;
  char *err = NULL;
  assert_int_equal(kube_config_load(&c, path, NULL, &err), KUBE_ERROR);
  assert_non_null(err);
  return err;
}

static const char *bearer(kube_config *c) {
  const char *token = (const char *)1;
  char *err = NULL;
  if (kube_config_bearer(c, &token, &err) != 0) fail_msg("bearer: %s", err);
  return token;
}

static char *bearer_error(kube_config *c) {
  const char *token;
  char *err = NULL;
  assert_int_equal(kube_config_bearer(c, &token, &err), KUBE_ERROR);
  assert_non_null(err);
  return err;
}

/* base64 of text, wrapped every 16 characters onto lines indented by
 * indent spaces, as some tools write it. */
static char *b64_wrapped(const char *text, int indent) {
  static char out[1024];
  unsigned char flat[512];
  int n = EVP_EncodeBlock(flat, (const unsigned char *)text, (int)strlen(text));
  size_t o = 0;
  for (int i = 0; i < n; i++) {
    if (i && i % 16 == 0) o += (size_t)sprintf(out + o, "\n%*s", indent, "");
    out[o++] = (char)flat[i];
  }
  out[o] = '\0';
  return out;
}

/* A kubeconfig with one context "ctx" on cluster "c" and user "u". */
static const char *one_context(const char *rel, const char *cluster, const char *user) {
  char text[4096];
  snprintf(text, sizeof text,
           "apiVersion: v1\nkind: Config\ncurrent-context: ctx\n"
           "contexts:\n- name: ctx\n  context: {cluster: c, user: u}\n"
           "clusters:\n- name: c\n  cluster:\n%s\n"
           "users:\n- name: u\n  user:\n%s\n",
           cluster, user);
  write_file(rel, text);
  return at(rel);
}

#define SERVER "    server: https://k.example:6443\n"

/* ---- clusters ------------------------------------------------------------ */

static void cluster_fields_are_read(void **state) {
  write_file("ca.crt", "CA\n");
  write_file("kc-cluster",
             "current-context: dev\n"
             "contexts:\n- name: dev\n  context: {cluster: c, namespace: team}\n"
             "clusters:\n- name: c\n  cluster:\n"
             "    server: https://k.example:6443//\n"
             "    certificate-authority: ca.crt\n"
             "    tls-server-name: api.internal\n");
  kube_config *c = load(at("kc-cluster"), NULL);
  assert_string_equal(c->context, "dev");
  assert_string_equal(c->cluster, "c");
  assert_null(c->user);
  assert_string_equal(c->server, "https://k.example:6443");
  assert_string_equal(c->ca_file, at("ca.crt"));
  assert_null(c->ca_pem);
  assert_string_equal(c->tls_server_name, "api.internal");
  assert_string_equal(c->namespace, "team");
  assert_false(c->insecure);
  assert_null(bearer(c));
  kube_config_free(c);
}

static void certificate_authority_data_is_decoded_and_wins_over_the_file(void **state) {
  const char *pem = "-----BEGIN CERTIFICATE-----\nMIIBCA==\n-----END CERTIFICATE-----\n";
  char cluster[2048];
  write_file("ca.crt", "CA\n");
  snprintf(cluster, sizeof cluster, SERVER "    certificate-authority: ca.crt\n"
                                           "    certificate-authority-data: |\n      %s",
           b64_wrapped(pem, 6));
  kube_config *c = load(one_context("kc-ca-data", cluster, "    token: t"), NULL);
  assert_string_equal(c->ca_pem, pem);
  assert_null(c->ca_file);
  kube_config_free(c);
}

static void insecure_skip_tls_verify_is_a_boolean(void **state) {
  kube_config *c = load(one_context("kc-insecure", SERVER "    insecure-skip-tls-verify: true", "    token: t"), NULL);
  assert_true(c->insecure);
  kube_config_free(c);
  assert_load_fails(one_context("kc-insecure-ca", SERVER "    insecure-skip-tls-verify: true\n"
                                                         "    certificate-authority-data: Q0E=",
                                "    token: t"),
                    NULL, KUBE_ERROR,
                    "cluster \"c\" sets both insecure-skip-tls-verify and a certificate authority; keep one");
  char want[512];
  snprintf(want, sizeof want, "kubeconfig %s:11:31: insecure-skip-tls-verify must be true or false, not a string",
           at("kc-insecure-str"));
  assert_load_fails(one_context("kc-insecure-str", SERVER "    insecure-skip-tls-verify: \"yes\"", "    token: t"), NULL,
                    KUBE_ERROR, want);
}

static void a_server_without_scheme_gets_https(void **state) {
  kube_config *c = load(one_context("kc-noscheme", "    server: 10.0.0.1:6443/", "    token: t"), NULL);
  assert_string_equal(c->server, "https://10.0.0.1:6443");
  kube_config_free(c);
}

/* ---- users --------------------------------------------------------------- */

static void a_static_token_is_the_bearer(void **state) {
  kube_config *c = load(one_context("kc-token", SERVER, "    token: s3cret"), NULL);
  assert_string_equal(c->user, "u");
  assert_string_equal(bearer(c), "s3cret");
  kube_config_free(c);
}

static void basic_auth_needs_no_bearer(void **state) {
  kube_config *c = load(one_context("kc-basic", SERVER, "    username: admin\n    password: hunter2"), NULL);
  assert_string_equal(c->username, "admin");
  assert_string_equal(c->password, "hunter2");
  assert_null(bearer(c));
  kube_config_free(c);
  assert_load_fails(one_context("kc-basic-token", SERVER, "    token: s3cret\n    password: hunter2"), NULL,
                    KUBE_ERROR, "user \"u\" has both a token and a username/password; keep one");
}

static void client_certificates_as_files_and_as_data(void **state) {
  write_file("sub/client.crt", "CERT\n");
  write_file("sub/client.key", "KEY\n");
  kube_config *c = load(one_context("sub/kc-certs", SERVER, "    client-certificate: client.crt\n"
                                                            "    client-key: ./client.key"),
                        NULL);
  assert_string_equal(c->cert_file, at("sub/client.crt"));
  assert_string_equal(c->key_file, at("sub/./client.key"));
  assert_null(bearer(c));
  kube_config_free(c);

  char user[512];
  snprintf(user, sizeof user, "    client-certificate-data: %s\n", b64_wrapped("CERT PEM\n", 6));
  snprintf(user + strlen(user), sizeof user - strlen(user), "    client-key-data: %s", b64_wrapped("KEY PEM\n", 6));
  c = load(one_context("kc-cert-data", SERVER, user), NULL);
  assert_string_equal(c->cert_pem, "CERT PEM\n");
  assert_string_equal(c->key_pem, "KEY PEM\n");
  assert_null(c->cert_file);
  kube_config_free(c);

  assert_load_fails(one_context("kc-cert-only", SERVER, "    client-certificate: sub/client.crt"), NULL, KUBE_ERROR,
                    "user \"u\" needs both a client certificate and a client key");
}

static void unreadable_files_are_named_with_the_reason(void **state) {
  char *err = load_error(one_context("kc-no-ca", "    server: https://x\n    certificate-authority: nope.crt", ""));
  char want[512];
  snprintf(want, sizeof want, "kubeconfig %s:11:28: cannot read certificate-authority %s: No such file or directory",
           at("kc-no-ca"), at("nope.crt"));
  assert_string_equal(err, want);
  free(err);
}

static void a_token_file_is_relative_and_re_read_when_it_changes(void **state) {
  write_file("sub/token", "first\n");
  kube_config *c = load(one_context("sub/kc-token-file", SERVER, "    tokenFile: token"), NULL);
  assert_string_equal(c->token_file, at("sub/token"));
  assert_string_equal(bearer(c), "first");

  /* Same size, same mtime: the cached token stays, the file is not read. */
  struct stat st;
  assert_int_equal(stat(at("sub/token"), &st), 0);
  write_file("sub/token", "secon\n");
  struct timespec keep[2] = {st.st_atim, st.st_mtim};
  assert_int_equal(utimensat(AT_FDCWD, at("sub/token"), keep, 0), 0);
  assert_string_equal(bearer(c), "first");

  /* A rotation: new contents and a later mtime. */
  write_file("sub/token", "  second\n\n");
  struct timeval later[2] = {{st.st_mtim.tv_sec + 5, 0}, {st.st_mtim.tv_sec + 5, 0}};
  assert_int_equal(utimes(at("sub/token"), later), 0);
  assert_string_equal(bearer(c), "second");

  /* Mid-rotation the file may be gone: the last token stays in use. */
  unlink(at("sub/token"));
  assert_string_equal(bearer(c), "second");
  kube_config_free(c);

  char want[512];
  snprintf(want, sizeof want, "kubeconfig %s:15:16: cannot read tokenFile %s: No such file or directory",
           at("sub/kc-token-file"), at("sub/token"));
  assert_load_fails(at("sub/kc-token-file"), NULL, KUBE_ERROR, want);
  write_file("sub/token", "\n");
  snprintf(want, sizeof want, "token file %s is empty", at("sub/token"));
  assert_load_fails(at("sub/kc-token-file"), NULL, KUBE_ERROR, want);
}

static void exec_settings_are_read(void **state) {
  kube_config *c = load(one_context("sub/kc-exec", SERVER,
                                    "    exec:\n"
                                    "      apiVersion: client.authentication.k8s.io/v1beta1\n"
                                    "      command: bin/plugin\n"
                                    "      args: [get-token, --cluster=c]\n"
                                    "      env:\n      - {name: A, value: one}\n      - {name: B}\n"
                                    "      interactiveMode: Never\n"),
                        NULL);
  assert_string_equal(c->exec->command, at("sub/bin/plugin"));
  assert_string_equal(c->exec->api_version, "client.authentication.k8s.io/v1beta1");
  assert_string_equal(c->exec->args[0], "get-token");
  assert_string_equal(c->exec->args[1], "--cluster=c");
  assert_null(c->exec->args[2]);
  assert_string_equal(c->exec->env[0], "A=one");
  assert_string_equal(c->exec->env[1], "B=");
  assert_null(c->exec->env[2]);
  kube_config_free(c);

  c = load(one_context("kc-exec-path", SERVER, "    exec: {apiVersion: client.authentication.k8s.io/v1, command: aws}"),
           NULL);
  assert_string_equal(c->exec->command, "aws");
  assert_null(c->exec->args[0]);
  assert_null(c->exec->env[0]);
  kube_config_free(c);

  char want[256];
  snprintf(want, sizeof want, "kubeconfig %s:15:11: exec of user \"u\" needs an apiVersion", at("kc-exec-noapi"));
  assert_load_fails(one_context("kc-exec-noapi", SERVER, "    exec: {command: aws}"), NULL, KUBE_ERROR, want);
}

static void auth_providers_are_refused_with_a_way_out(void **state) {
  assert_load_fails(one_context("kc-authp", SERVER, "    auth-provider: {name: oidc, config: {id-token: s3cret}}"), NULL,
                    KUBE_ERROR, "user \"u\" uses auth-provider \"oidc\", which plumb does not support; use an exec plugin");
}

/* ---- contexts and merging ------------------------------------------------ */

static const char *TWO_CONTEXTS = "current-context: a\n"
                                  "contexts:\n"
                                  "- {name: a, context: {cluster: ca, user: ua}}\n"
                                  "- {name: b, context: {cluster: cb, user: ub, namespace: nb}}\n"
                                  "- {name: lost, context: {cluster: nowhere}}\n"
                                  "- {name: nobody, context: {cluster: ca, user: ghost}}\n"
                                  "- {name: blank, context: {user: ua}}\n"
                                  "clusters:\n"
                                  "- {name: ca, cluster: {server: 'https://a'}}\n"
                                  "- {name: cb, cluster: {server: 'https://b'}}\n"
                                  "- {name: empty, cluster: {}}\n"
                                  "users:\n"
                                  "- {name: ua, user: {token: ta}}\n"
                                  "- {name: ub, user: {token: tb}}\n";

static void the_context_argument_overrides_current_context(void **state) {
  write_file("kc-two", TWO_CONTEXTS);
  kube_config *c = load(at("kc-two"), NULL);
  assert_string_equal(c->context, "a");
  assert_string_equal(c->server, "https://a");
  assert_string_equal(bearer(c), "ta");
  assert_null(c->namespace);
  kube_config_free(c);
  c = load(at("kc-two"), "b");
  assert_string_equal(c->server, "https://b");
  assert_string_equal(bearer(c), "tb");
  assert_string_equal(c->namespace, "nb");
  kube_config_free(c);
}

static void context_errors_say_what_is_known(void **state) {
  write_file("kc-two", TWO_CONTEXTS);
  /* A context asked for and absent is ENOTFOUND: the runtime looks for the
   * name elsewhere then; a current-context that names nothing is broken. */
  assert_load_fails(at("kc-two"), "c", KUBE_ENOTFOUND,
                    "context \"c\" not found in kubeconfig (known: a, b, lost, nobody, blank)");
  write_file("kc-dangling", "current-context: gone\ncontexts: [{name: a, context: {cluster: ca}}]\n");
  assert_load_fails(at("kc-dangling"), NULL, KUBE_ERROR, "context \"gone\" not found in kubeconfig (known: a)");
  assert_load_fails(at("kc-two"), "lost", KUBE_ERROR, "cluster \"nowhere\" of context \"lost\" not found");
  assert_load_fails(at("kc-two"), "nobody", KUBE_ERROR, "user \"ghost\" of context \"nobody\" not found");
  assert_load_fails(at("kc-two"), "blank", KUBE_ERROR, "context \"blank\" names no cluster");
  write_file("kc-empty-cluster", "contexts: [{name: e, context: {cluster: empty}}]\n"
                                 "clusters: [{name: empty, cluster: {}}]\n");
  assert_load_fails(at("kc-empty-cluster"), "e", KUBE_ERROR, "kubeconfig has no server for cluster \"empty\"");
  assert_load_fails(at("kc-empty-cluster"), NULL, KUBE_ERROR, "no current-context set in kubeconfig; pass --context");
  write_file("kc-nothing", "");
  assert_load_fails(at("kc-nothing"), "x", KUBE_ENOTFOUND, "context \"x\" not found in kubeconfig (known: none)");
}

static void kubeconfig_files_merge_first_one_wins(void **state) {
  write_file("kc-first", "contexts:\n- {name: shared, context: {cluster: c1, user: u1}}\n"
                         "clusters:\n- {name: c1, cluster: {server: 'https://first'}}\n"
                         "users:\n- {name: u1, user: {token: first}}\n");
  write_file("sub/kc-second", "current-context: shared\n"
                              "contexts:\n- {name: shared, context: {cluster: c2, user: u2}}\n"
                              "- {name: other, context: {cluster: c1, user: u2}}\n"
                              "clusters:\n- {name: c1, cluster: {server: 'https://second'}}\n"
                              "- {name: c2, cluster: {server: 'https://c2'}}\n"
                              "users:\n- {name: u2, user: {tokenFile: tok}}\n");
  write_file("sub/tok", "from-sub\n");
  char env[512];
  snprintf(env, sizeof env, "%s::%s:%s:%s", at("missing"), at("kc-first"), at("sub/kc-second"), at("kc-first"));
  setenv("KUBECONFIG", env, 1);

  kube_config *c = load(NULL, NULL); /* current-context from the second file, context from the first */
  assert_string_equal(c->context, "shared");
  assert_string_equal(c->server, "https://first");
  assert_string_equal(bearer(c), "first");
  kube_config_free(c);

  c = load(NULL, "other"); /* cluster c1 from the first file, user u2 from the second, tokenFile beside it */
  assert_string_equal(c->server, "https://first");
  assert_string_equal(c->token_file, at("sub/tok"));
  assert_string_equal(bearer(c), "from-sub");
  kube_config_free(c);

  /* An explicit path reads only that file. */
  c = load(at("sub/kc-second"), NULL);
  assert_string_equal(c->server, "https://c2");
  kube_config_free(c);
}

static void where_the_kubeconfig_comes_from(void **state) {
  char want[512];
  snprintf(want, sizeof want, "cannot read kubeconfig %s: No such file or directory", at("absent"));
  assert_load_fails(at("absent"), NULL, KUBE_ERROR, want);

  snprintf(want, sizeof want, "no kubeconfig: %s/.kube/config does not exist and KUBECONFIG is not set", at("home"));
  assert_load_fails(NULL, NULL, KUBE_ENOTFOUND, want);

  setenv("KUBECONFIG", at("absent"), 1);
  snprintf(want, sizeof want, "no kubeconfig: none of the files in KUBECONFIG exist (%s)", at("absent"));
  assert_load_fails(NULL, NULL, KUBE_ENOTFOUND, want);

  setenv("KUBECONFIG", "", 1); /* empty counts as unset, as in client-go */
  write_file("home/.kube/config", TWO_CONTEXTS);
  kube_config *c = load(NULL, "b");
  assert_string_equal(c->server, "https://b");
  kube_config_free(c);
  unlink(at("home/.kube/config"));
}

/* ---- bad kubeconfigs ----------------------------------------------------- */

static void assert_bad_kubeconfig(const char *text, const char *msg) {
  write_file("kc-bad", text);
  char want[512];
  snprintf(want, sizeof want, "kubeconfig %s:%s", at("kc-bad"), msg);
  assert_load_fails(at("kc-bad"), "x", KUBE_ERROR, want);
}

static void bad_kubeconfigs_are_pinned_to_a_line(void **state) {
  assert_bad_kubeconfig("contexts: [\n", "2:1: did not find expected node content (while parsing a flow node)");
  assert_bad_kubeconfig("- a\n", "1:1: a kubeconfig is a mapping, not a list");
  assert_bad_kubeconfig("clusters: {}\n", "1:11: clusters must be a list, not an object");
  assert_bad_kubeconfig("users:\n- user: {}\n", "2:3: every entry of users needs a name");
  assert_bad_kubeconfig("contexts:\n- {name: x, context: {cluster: c}}\n- {name: x}\n",
                        "3:10: contexts has two entries named \"x\"");
  assert_bad_kubeconfig("contexts: [{name: x, context: [c]}]\n",
                        "1:31: context of \"x\" must be a mapping, not a list");
  assert_bad_kubeconfig("contexts: [{name: x, context: {cluster: c, user: u}}]\n"
                        "clusters: [{name: c, cluster: {server: 'https://c'}}]\n"
                        "users: [{name: u, user: {token: 12345}}]\n",
                        "3:33: token must be a string, not an int");
  assert_bad_kubeconfig("contexts: [{name: x, context: {cluster: c, user: u}}]\n"
                        "clusters: [{name: c, cluster: {server: 'https://c'}}]\n"
                        "users: [{name: u, user: {client-key-data: 'bm90 a2V5!', client-certificate-data: Q0VSVA==}}]\n",
                        "3:43: client-key-data is not valid base64");
}

static void credentials_stay_out_of_error_messages(void **state) {
  const char *users[] = {
      "    token: s3cret\n    username: s3cret-user\n    password: s3cret",
      "    client-key-data: s3cret!!\n    client-certificate-data: Q0VSVA==",
      "    token: [s3cret]",
      "    auth-provider: {name: gcp, config: {access-token: s3cret}}",
  };
  for (size_t i = 0; i < sizeof users / sizeof *users; i++) {
    char *err = load_error(one_context("kc-leak", SERVER, users[i]));
    if (strstr(err, "s3cret")) fail_msg("credential in \"%s\"", err);
    free(err);
  }
}

/* ---- a kubeconfig given as data ------------------------------------------ */

/* The text of one_context's kubeconfig, without a file. */
static const char *one_context_text(const char *cluster, const char *user) {
  static char text[4096];
  size_t len;
  char *file = kube_read_file(one_context("kc-data", cluster, user), sizeof text, &len);
  assert_non_null(file);
  snprintf(text, sizeof text, "%s", file);
  free(file);
  unlink(at("kc-data"));
  return text;
}

static kube_config *parse(const char *text) {
  kube_config *c = NULL;
  char *err = NULL;
  if (kube_config_parse(&c, "Secret plumb/far", text, strlen(text), NULL, &err) != 0) fail_msg("parse: %s", err);
  return c;
}

static void assert_parse_fails(const char *text, const char *msg) {
  kube_config *c = (kube_config *)1;
  char *err = NULL;
  assert_int_equal(kube_config_parse(&c, "Secret plumb/far", text, strlen(text), NULL, &err), KUBE_ERROR);
  assert_null(c);
  assert_non_null(err);
  assert_string_equal(err, msg);
  free(err);
}

static void a_kubeconfig_given_as_data_is_read_like_a_file(void **state) {
  const char *pem = "-----BEGIN CERTIFICATE-----\nMIIBCA==\n-----END CERTIFICATE-----\n";
  char cluster[1024];
  snprintf(cluster, sizeof cluster, SERVER "    certificate-authority-data: |\n      %s", b64_wrapped(pem, 6));
  kube_config *c = parse(one_context_text(cluster, "    token: far-token"));
  assert_string_equal(c->context, "ctx");
  assert_string_equal(c->server, "https://k.example:6443");
  assert_string_equal(c->ca_pem, pem);
  assert_string_equal(bearer(c), "far-token");
  kube_config_free(c);
  assert_parse_fails("users: {}\n", "kubeconfig Secret plumb/far:1:8: users must be a list, not an object");
  assert_parse_fails("", "no current-context set in kubeconfig; pass --context");
}

/* Whoever writes the data must not get to read the runtime's files or run
 * commands as it: every field naming a file, and exec, is refused before
 * anything is read or run. */
static void a_kubeconfig_given_as_data_may_not_reach_outside(void **state) {
  write_file("sa-token", "the runtime's own\n");
  char user[PATH_MAX + 128];
  snprintf(user, sizeof user, "    tokenFile: %s", at("sa-token"));
  assert_parse_fails(one_context_text(SERVER, user),
                     "kubeconfig Secret plumb/far:15:16: tokenFile names a file, which a kubeconfig given as data "
                     "may not: it would read the runtime's own files; embed the credential instead");
  assert_parse_fails(one_context_text(SERVER "    certificate-authority: /etc/ssl/certs/ca-certificates.crt", "    token: t"),
                     "kubeconfig Secret plumb/far:11:28: certificate-authority names a file, which a kubeconfig "
                     "given as data may not: it would read the runtime's own files; embed the credential instead");
  assert_parse_fails(one_context_text(SERVER, "    client-certificate: c.crt\n    client-key-data: S0VZ"),
                     "kubeconfig Secret plumb/far:15:25: client-certificate names a file, which a kubeconfig given "
                     "as data may not: it would read the runtime's own files; embed the credential instead");
  assert_parse_fails(one_context_text(SERVER, "    client-certificate-data: Q0VSVA==\n    client-key: k.key"),
                     "kubeconfig Secret plumb/far:16:17: client-key names a file, which a kubeconfig given as data "
                     "may not: it would read the runtime's own files; embed the credential instead");
  unlink(at("exec-count"));
  snprintf(user, sizeof user, "    exec: {apiVersion: client.authentication.k8s.io/v1, command: %s}", plugin);
  assert_parse_fails(one_context_text(SERVER, user),
                     "kubeconfig Secret plumb/far:15:11: exec runs a credential plugin, which a kubeconfig given as "
                     "data may not: it would run commands as the runtime; embed the credential instead");
  assert_int_equal(access(at("exec-count"), F_OK), -1); /* never run */
}

/* ---- in-cluster ---------------------------------------------------------- */

static void in_cluster_reads_the_service_account(void **state) {
  write_file("sa/token", "sa-token\n");
  write_file("sa/ca.crt", "CA\n");
  write_file("sa/namespace", "plumb-system\n");
  setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
  setenv("KUBERNETES_SERVICE_PORT", "443", 1);
  kube_config *c = NULL;
  char *err = NULL;
  assert_int_equal(kube_config_in_cluster(&c, at("sa"), &err), 0);
  assert_string_equal(c->context, "in-cluster");
  assert_string_equal(c->server, "https://10.96.0.1:443");
  assert_string_equal(c->ca_file, at("sa/ca.crt"));
  assert_string_equal(c->token_file, at("sa/token"));
  assert_string_equal(c->namespace, "plumb-system");
  assert_string_equal(bearer(c), "sa-token");
  /* kubelet rotates the projected token */
  write_file("sa/token", "sa-token-2\n");
  struct timeval later[2] = {{time(NULL) + 60, 0}, {time(NULL) + 60, 0}};
  assert_int_equal(utimes(at("sa/token"), later), 0);
  assert_string_equal(bearer(c), "sa-token-2");
  kube_config_free(c);
}

static void in_cluster_with_ipv6_and_pod_namespace(void **state) {
  write_file("sa/token", "sa-token\n");
  unlink(at("sa/ca.crt"));
  setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
  setenv("KUBERNETES_SERVICE_PORT", "6443", 1);
  setenv("POD_NAMESPACE", "from-env", 1);
  kube_config *c = NULL;
  char *err = NULL;
  assert_int_equal(kube_config_in_cluster(&c, at("sa"), &err), 0);
  assert_string_equal(c->server, "https://[fd00::1]:6443");
  assert_null(c->ca_file);
  assert_string_equal(c->namespace, "from-env");
  kube_config_free(c);
}

static void outside_a_cluster_in_cluster_says_so(void **state) {
  kube_config *c = (kube_config *)1;
  char *err = NULL;
  assert_int_equal(kube_config_in_cluster(&c, at("sa"), &err), KUBE_ENOTFOUND);
  assert_null(c);
  assert_string_equal(err, "not running in a Kubernetes cluster: "
                           "KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set");
  free(err);
  setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
  setenv("KUBERNETES_SERVICE_PORT", "443", 1);
  assert_int_equal(kube_config_in_cluster(&c, at("nosa"), &err), KUBE_ERROR);
  char want[256];
  snprintf(want, sizeof want, "cannot read token file %s: No such file or directory", at("nosa/token"));
  assert_string_equal(err, want);
  free(err);
}

/* ---- exec plugins -------------------------------------------------------- */

/* A config whose user runs tests/kube/exec-plugin.sh through sh with
 * argument arg, PLUMB_TEST_EXEC_PREFIX=pfx from the kubeconfig's env. */
static kube_config *exec_config(const char *api_version) {
  char user[PATH_MAX + 256];
  snprintf(user, sizeof user,
           "    exec:\n      apiVersion: %s\n      command: sh\n      args: ['%s', a1]\n"
           "      env: [{name: PLUMB_TEST_EXEC_PREFIX, value: pfx}]\n",
           api_version, plugin);
  return load(one_context("kc-exec-run", SERVER, user), NULL);
}

static char *rfc3339(long long offset_s) {
  static char out[32];
  time_t t = time(NULL) + offset_s;
  strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
  return out;
}

static int runs(void) {
  FILE *f = fopen(at("exec-count"), "r");
  int n = 0;
  if (f) assert_int_equal(fscanf(f, "%d", &n), 1), fclose(f);
  return n;
}

static void an_exec_token_is_cached_until_it_expires(void **state) {
  setenv("PLUMB_TEST_EXEC_EXPIRY", rfc3339(3600), 1);
  kube_config *c = exec_config("client.authentication.k8s.io/v1");
  assert_string_equal(bearer(c), "pfx-a1-1");
  assert_string_equal(bearer(c), "pfx-a1-1");
  assert_int_equal(runs(), 1);
  assert_true(c->exec_expiry > time(NULL) + 3590 && c->exec_expiry <= time(NULL) + 3600);
  c->exec_expiry = time(NULL) - 1; /* an hour later */
  assert_string_equal(bearer(c), "pfx-a1-2");
  assert_int_equal(runs(), 2);
  kube_config_free(c);
}

static void an_exec_token_about_to_expire_is_fetched_again(void **state) {
  setenv("PLUMB_TEST_EXEC_EXPIRY", rfc3339(5), 1);
  kube_config *c = exec_config("client.authentication.k8s.io/v1beta1");
  assert_string_equal(bearer(c), "pfx-a1-1");
  assert_string_equal(bearer(c), "pfx-a1-2");
  setenv("PLUMB_TEST_EXEC_EXPIRY", "2020-01-01T00:00:00Z", 1);
  assert_string_equal(bearer(c), "pfx-a1-3");
  assert_string_equal(bearer(c), "pfx-a1-4");
  assert_int_equal(runs(), 4);
  kube_config_free(c);
}

static void an_exec_token_without_expiry_is_kept(void **state) {
  kube_config *c = exec_config("client.authentication.k8s.io/v1");
  assert_string_equal(bearer(c), "pfx-a1-1");
  assert_string_equal(bearer(c), "pfx-a1-1");
  assert_int_equal(c->exec_expiry, 0);
  assert_int_equal(runs(), 1);
  kube_config_free(c);
}

static void expiration_timestamps_are_rfc3339(void **state) {
  const struct { const char *ts; long long want; } cases[] = {
      {"2030-01-01T00:00:00Z", 1893456000},
      {"2030-01-01T01:00:00+01:00", 1893456000},
      {"2029-12-31T23:30:00.123456789-00:30", 1893456000},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    setenv("PLUMB_TEST_EXEC_EXPIRY", cases[i].ts, 1);
    kube_config *c = exec_config("client.authentication.k8s.io/v1");
    bearer(c);
    assert_int_equal(c->exec_expiry, cases[i].want);
    kube_config_free(c);
  }
  setenv("PLUMB_TEST_EXEC_EXPIRY", "tomorrow", 1);
  kube_config *c = exec_config("client.authentication.k8s.io/v1");
  char *err = bearer_error(c);
  assert_string_equal(err, "exec plugin \"sh\" returned expirationTimestamp \"tomorrow\", which is not RFC 3339");
  free(err);
  kube_config_free(c);
}

static void an_exec_plugin_may_return_a_client_certificate(void **state) {
  setenv("PLUMB_TEST_EXEC_MODE", "cert", 1);
  kube_config *c = exec_config("client.authentication.k8s.io/v1");
  assert_null(bearer(c));
  assert_string_equal(c->exec_cert_pem, "CERT-1");
  assert_string_equal(c->exec_key_pem, "KEY-1");
  assert_null(bearer(c));
  assert_int_equal(runs(), 1);
  kube_config_free(c);
}

static void a_failing_exec_plugin_says_why(void **state) {
  setenv("PLUMB_TEST_EXEC_MODE", "fail", 1);
  setenv("PLUMB_TEST_EXEC_STDERR", "error: SSO session expired; run aws sso login", 1);
  kube_config *c = exec_config("client.authentication.k8s.io/v1");
  char *err = bearer_error(c);
  assert_string_equal(err, "exec plugin \"sh\" of user \"u\" failed (exit status 3): "
                           "error: SSO session expired; run aws sso login");
  free(err);

  /* Only the first KiB of a long complaint. */
  char noise[3000];
  memset(noise, 'x', sizeof noise - 1);
  noise[sizeof noise - 1] = '\0';
  setenv("PLUMB_TEST_EXEC_STDERR", noise, 1);
  err = bearer_error(c);
  assert_int_equal(strlen(err), strlen("exec plugin \"sh\" of user \"u\" failed (exit status 3): ") + 1024);
  free(err);
  kube_config_free(c);
}

static void an_exec_plugin_printing_garbage_is_not_quoted(void **state) {
  setenv("PLUMB_TEST_EXEC_MODE", "garbage", 1);
  kube_config *c = exec_config("client.authentication.k8s.io/v1");
  char *err = bearer_error(c);
  const char *want = "exec plugin \"sh\" printed no ExecCredential (invalid JSON at line 1, column ";
  assert_int_equal(strncmp(err, want, strlen(want)), 0);
  assert_null(strstr(err, "pfx"));
  assert_null(strstr(err, "oops"));
  free(err);
  kube_config_free(c);
}

static void an_exec_plugin_printing_too_much_is_stopped(void **state) {
  setenv("PLUMB_TEST_EXEC_MODE", "big", 1);
  kube_config *c = exec_config("client.authentication.k8s.io/v1");
  char *err = bearer_error(c);
  assert_string_equal(err, "exec plugin \"sh\" printed more than 1 MiB");
  free(err);
  kube_config_free(c);
}

static void a_missing_exec_plugin_is_named(void **state) {
  kube_config *c = load(one_context("kc-exec-missing", SERVER,
                                    "    exec: {apiVersion: client.authentication.k8s.io/v1, command: no-such-plugin-xyz}"),
                        NULL);
  char *err = bearer_error(c);
  assert_string_equal(err, "cannot run exec plugin \"no-such-plugin-xyz\": No such file or directory");
  free(err);
  kube_config_free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(cluster_fields_are_read, fresh),
      cmocka_unit_test_setup(certificate_authority_data_is_decoded_and_wins_over_the_file, fresh),
      cmocka_unit_test_setup(insecure_skip_tls_verify_is_a_boolean, fresh),
      cmocka_unit_test_setup(a_server_without_scheme_gets_https, fresh),
      cmocka_unit_test_setup(a_static_token_is_the_bearer, fresh),
      cmocka_unit_test_setup(basic_auth_needs_no_bearer, fresh),
      cmocka_unit_test_setup(client_certificates_as_files_and_as_data, fresh),
      cmocka_unit_test_setup(unreadable_files_are_named_with_the_reason, fresh),
      cmocka_unit_test_setup(a_token_file_is_relative_and_re_read_when_it_changes, fresh),
      cmocka_unit_test_setup(exec_settings_are_read, fresh),
      cmocka_unit_test_setup(auth_providers_are_refused_with_a_way_out, fresh),
      cmocka_unit_test_setup(the_context_argument_overrides_current_context, fresh),
      cmocka_unit_test_setup(context_errors_say_what_is_known, fresh),
      cmocka_unit_test_setup(kubeconfig_files_merge_first_one_wins, fresh),
      cmocka_unit_test_setup(where_the_kubeconfig_comes_from, fresh),
      cmocka_unit_test_setup(bad_kubeconfigs_are_pinned_to_a_line, fresh),
      cmocka_unit_test_setup(credentials_stay_out_of_error_messages, fresh),
      cmocka_unit_test_setup(a_kubeconfig_given_as_data_is_read_like_a_file, fresh),
      cmocka_unit_test_setup(a_kubeconfig_given_as_data_may_not_reach_outside, fresh),
      cmocka_unit_test_setup(in_cluster_reads_the_service_account, fresh),
      cmocka_unit_test_setup(in_cluster_with_ipv6_and_pod_namespace, fresh),
      cmocka_unit_test_setup(outside_a_cluster_in_cluster_says_so, fresh),
      cmocka_unit_test_setup(an_exec_token_is_cached_until_it_expires, fresh),
      cmocka_unit_test_setup(an_exec_token_about_to_expire_is_fetched_again, fresh),
      cmocka_unit_test_setup(an_exec_token_without_expiry_is_kept, fresh),
      cmocka_unit_test_setup(expiration_timestamps_are_rfc3339, fresh),
      cmocka_unit_test_setup(an_exec_plugin_may_return_a_client_certificate, fresh),
      cmocka_unit_test_setup(a_failing_exec_plugin_says_why, fresh),
      cmocka_unit_test_setup(an_exec_plugin_printing_garbage_is_not_quoted, fresh),
      cmocka_unit_test_setup(an_exec_plugin_printing_too_much_is_stopped, fresh),
      cmocka_unit_test_setup(a_missing_exec_plugin_is_named, fresh),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}

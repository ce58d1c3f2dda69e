/* test_ssh.c: fetching over ssh from a real OpenSSH sshd that the test
 * starts for itself: its own host key, config and port on 127.0.0.1, and
 * public-key logins only, for the user the test runs as (root in CI). An
 * sshd that cannot start fails the tests with its reason: CI installs
 * openssh-server (.ci/deps). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "plumb/source.h"
#include "source/internal.h"

#include "git_test.h"

#define SSHD "/usr/sbin/sshd"

/* libssh2 1.10 (Debian 12) loses memory: the list of auth methods when
 * asked again after a refused key, and 56 bytes on each login with an
 * ecdsa key (docs/runtime.md). libgit2 1.8 loses none of its own (1.5 lost
 * the ssh handle on every connection, libgit2#6598): test_source.c holds
 * fetch.c's frees to account over file:// and http. libssh2 has no frame
 * pointers: only full unwinding sees its frames. */
const char *__asan_default_options(void) { return "fast_unwind_on_malloc=0:print_suppressions=0"; }
const char *__lsan_default_suppressions(void) {
  return "leak:libssh2_userauth_list\nleak:libssh2_userauth_publickey_frommemory\n";
}

static pid_t sshd;
static int port;
static char user[64]; /* the user the test runs as: the only one sshd lets in */
static char url[256]; /* ssh://user@127.0.0.1:port/tmp/origin */
static char sshd_log[128];

static char *path_in_tmp(const char *name) {
  static char path[4][128];
  static int next;
  char *p = path[next++ % 4];
  snprintf(p, sizeof path[0], "%s/%s", tmp, name);
  return p;
}

static char *read_text(const char *path) {
  size_t len;
  char *text = kube_read_file(path, 1 << 20, &len);
  if (!text) fail_msg("cannot read %s: %s", path, strerror(errno));
  return text;
}

static void keygen(const char *type, const char *name) {
  sh("ssh-keygen -q -t %s -N '' -C plumb-test -f %s", type, path_in_tmp(name));
}

/* A port no one listens on just now, as the kernel picks them. */
static int free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  close(fd);
  return ntohs(a.sin_port);
}

static bool accepts_connections(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  bool ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
  close(fd);
  return ok;
}

static void write_sshd_config(const char *host_key) {
  FILE *f = fopen(path_in_tmp("sshd_config"), "w");
  assert_non_null(f);
  fprintf(f,
          "ListenAddress 127.0.0.1:%d\n"
          "HostKey %s\n"
          "AuthorizedKeysFile %s\n"
          "AuthenticationMethods publickey\n"
          "PasswordAuthentication no\n"
          "KbdInteractiveAuthentication no\n"
          "UsePAM no\n"
          "StrictModes no\n" /* tmp is the test's, whatever its modes */
          "PermitRootLogin prohibit-password\n"
          "AllowUsers %s\n"
          "PidFile none\n",
          port, path_in_tmp(host_key), path_in_tmp("authorized_keys"), user);
  fclose(f);
}

/* sshd as root wants its privilege separation directory, which a machine
 * that never ran sshd lacks. */
static void make_privsep_dir(void) {
  if (geteuid() == 0 && mkdir("/run/sshd", 0755) != 0 && errno != EEXIST)
    fail_msg("cannot make /run/sshd for sshd: %s", strerror(errno));
}

static void fail_with_log(const char *what) { fail_msg("%s; its log:\n%s", what, read_text(sshd_log)); }

static void wait_until_listening(void) {
  for (int i = 0; i < 200; i++) {
    int status;
    if (waitpid(sshd, &status, WNOHANG) == sshd) {
      sshd = 0;
      fail_with_log("sshd exited before it listened");
    }
    if (accepts_connections()) return;
    usleep(50 * 1000);
  }
  fail_with_log("sshd did not listen within 10 s");
}

/* OpenSSH's own client logs in and finds git-upload-pack, so that a
 * failure of the tests is libgit2's and not the setup's. */
static void check_login(void) {
  char cmd[1024];
  snprintf(cmd, sizeof cmd,
           "ssh -F none -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"
           " -o LogLevel=ERROR -i %s -p %d %s@127.0.0.1 command -v git-upload-pack >%s 2>&1",
           path_in_tmp("id_ed25519"), port, user, path_in_tmp("probe"));
  if (system(cmd) != 0)
    fail_msg("ssh %s@127.0.0.1 -p %d cannot log in and find git-upload-pack on the PATH of the login:\n%s\n"
             "sshd's log:\n%s",
             user, port, read_text(path_in_tmp("probe")), read_text(sshd_log));
}

/* sshd on port with host_key (a file in tmp), logging to sshd_log. */
static void start_sshd(const char *host_key) {
  if (access(SSHD, X_OK) != 0) fail_msg("no %s (%s): install openssh-server (make deps)", SSHD, strerror(errno));
  make_privsep_dir();
  write_sshd_config(host_key);
  sshd = fork();
  if (sshd == 0) {
    if (!freopen(sshd_log, "a", stderr)) _exit(126);
    /* sshd re-executes itself and wants its absolute path for that. */
    execl(SSHD, SSHD, "-D", "-e", "-f", path_in_tmp("sshd_config"), (char *)NULL);
    _exit(127);
  }
  assert_true(sshd > 0);
  wait_until_listening();
  check_login();
}

static void stop_sshd(void) {
  if (sshd <= 0) return;
  kill(sshd, SIGTERM);
  waitpid(sshd, NULL, 0);
  sshd = 0;
}

static int setup(void **state) {
  git_test_make_origin("ssh");
  struct passwd *pw = getpwuid(geteuid());
  assert_non_null(pw);
  snprintf(user, sizeof user, "%s", pw->pw_name);
  keygen("ed25519", "host_key");
  keygen("ecdsa", "host_ecdsa");
  keygen("rsa -b 2048", "host_rsa");
  keygen("ed25519", "id_ed25519");
  keygen("ecdsa", "id_ecdsa");
  keygen("ecdsa -m PEM", "id_ecdsa_pem");
  keygen("rsa -b 2048", "id_rsa");
  keygen("rsa -b 2048 -m PEM", "id_rsa_pem");
  sh("cat %s/id_*.pub > %s", tmp, path_in_tmp("authorized_keys"));
  keygen("ed25519", "stranger"); /* a key sshd does not know */
  keygen("ecdsa", "stranger_ecdsa");
  port = free_port();
  snprintf(url, sizeof url, "ssh://%s@127.0.0.1:%d%s/origin", user, port, tmp);
  snprintf(sshd_log, sizeof sshd_log, "%s", path_in_tmp("sshd.log"));
  start_sshd("host_key");
  return 0;
}

static int teardown(void **state) {
  stop_sshd();
  git_test_remove();
  return 0;
}

/* known_hosts text: host_pattern and the key of a .pub file. */
static char *known_hosts(const char *host_pattern, const char *pub) {
  char *key = read_text(path_in_tmp(pub)), *text;
  if (asprintf(&text, "%s %s", host_pattern, key) < 0) abort();
  free(key);
  return text;
}

/* The known_hosts line for the server: its host key is `pub`. */
static char *server_entry_for(const char *pub) {
  char pattern[64];
  snprintf(pattern, sizeof pattern, "[127.0.0.1]:%d", port);
  return known_hosts(pattern, pub);
}

static char *server_entry(void) { return server_entry_for("host_key.pub"); }

/* Credentials read as plumb reads them: the key from a file. */
static source_creds *creds_with(const char *key, char *known) {
  source_creds *c = NULL;
  char *err = NULL;
  source_cred_files f = {.ssh_key_file = key ? path_in_tmp(key) : NULL};
  if (source_creds_from_files(&c, &f, &err)) fail_msg("%s", err);
  c->known_hosts = known;
  return c;
}

/* A fetch that must fail with code and a message containing want, which
 * names neither the key's file nor shows its contents. */
static void refused(const char *key, char *known, int code, const char *want) {
  source_creds *c = creds_with(key, known);
  char error[1024];
  int rc = fetch_once(url, c, error, sizeof error);
  if (rc != code || !strstr(error, want)) fail_msg("got %d \"%s\", want %d \"%s\"", rc, error, code, want);
  if (key) {
    assert_null(strstr(error, path_in_tmp(key)));
    assert_null(strstr(error, key));
    assert_null(strstr(error, "PRIVATE KEY"));
    char *body = strchr(c->ssh_key, '\n') + 1; /* the key's first line of base64 */
    assert_null(memmem(error, strlen(error), body, strcspn(body, "\n")));
  }
  source_creds_free(c);
}

/* Where sshd's log ends now. */
static long log_mark(void) {
  struct stat st;
  assert_int_equal(stat(sshd_log, &st), 0);
  return st.st_size;
}

/* Whether sshd accepted a login since mark: it logs each one. */
static bool logged_in_since(long mark) {
  char *log = read_text(sshd_log);
  bool in = strstr(log + mark, "Accepted publickey") != NULL;
  free(log);
  return in;
}

static void fetches(const char *key, char *known) {
  source_creds *c = creds_with(key, known);
  char error[1024];
  if (fetch_once(url, c, error, sizeof error)) fail_msg("with %s: %s", key, error);
  source_creds_free(c);
}

/* ---- cases ------------------------------------------------------------------ */

/* libgit2 1.8 cannot cut history over ssh (fetch.c): the cache is whole
 * from the first fetch. */
static void fetch_over_ssh_then_only_new_commits(void **state) {
  sh("cd %s/origin && sed -i 's/replicas: 1/replicas: 2/' envs/dev/main.plumb", tmp);
  commit_all("two replicas");
  source_creds *c = creds_with("id_ed25519", server_entry());
  source_repo *s = open_source(url, c);
  source_fetch_stats st;
  if (source_fetch(s, &st)) fail_msg("%s", source_last_error(s));
  assert_int_equal(git_repository_is_shallow(s->repo), 0);
  source_rev r;
  char parent[41];
  strcpy(parent, sh_out("git -C %s/origin rev-parse main~1", tmp));
  const char *revs[] = {"main", "v1", "v1-annotated", "HEAD", parent};
  for (size_t i = 0; i < sizeof revs / sizeof revs[0]; i++) {
    assert_int_equal(source_resolve(s, revs[i], &r), 0);
    assert_string_equal(r.commit, sh_out("git -C %s/origin rev-parse '%s^{commit}'", tmp, revs[i]));
  }
  sh("cd %s/origin && sed -i 's/replicas: 2/replicas: 3/' envs/dev/main.plumb", tmp);
  commit_all("three replicas");
  assert_int_equal(source_fetch(s, &st), 0);
  assert_int_equal(st.objects, 5); /* the commit, root, envs, envs/dev and the file */
  assert_int_equal(source_resolve(s, "main", &r), 0);
  assert_string_equal(r.commit, sh_out("git -C %s/origin rev-parse main", tmp));
  source_free(s);
  source_creds_free(c);
}

static void changed_host_key_is_refused_before_login(void **state) {
  char want[128];
  snprintf(want, sizeof want, "host key for [127.0.0.1]:%d does not match known_hosts", port);
  long mark = log_mark();
  refused("id_ed25519", server_entry_for("stranger.pub"), SOURCE_EHOSTKEY, want);
  assert_false(logged_in_since(mark));
}

/* ssh's verdict: a key of another type is unknown, not changed. */
static void key_of_another_type_is_unknown(void **state) {
  char want[256];
  snprintf(want, sizeof want,
           "host key for [127.0.0.1]:%d not in known_hosts, which has only other types of key for it:"
           " the server showed its ssh-ed25519 key",
           port);
  refused("id_ed25519", server_entry_for("stranger_ecdsa.pub"), SOURCE_EHOSTKEY, want);
}

/* The server's key listed for port 22 is not a key for another port. */
static void host_missing_from_known_hosts_is_refused(void **state) {
  char want[128];
  snprintf(want, sizeof want, "host key for [127.0.0.1]:%d not in known_hosts", port);
  long mark = log_mark();
  refused("id_ed25519", known_hosts("127.0.0.1", "host_key.pub"), SOURCE_EHOSTKEY, want);
  refused("id_ed25519", NULL, SOURCE_EHOSTKEY, "not checked: no known_hosts given");
  assert_false(logged_in_since(mark));
}

static void unknown_key_is_refused(void **state) {
  char want[384];
  snprintf(want, sizeof want, "authentication failed for %s", url);
  refused("stranger", server_entry(), SOURCE_EAUTH, want);
  snprintf(want, sizeof want, "%s asks for credentials and none were given", url);
  refused(NULL, server_entry(), SOURCE_EAUTH, want);
}

/* libssh2 1.10 (Debian 12) signs with ed25519 and ecdsa keys, in OpenSSH
 * or PEM text. */
static void ed25519_and_ecdsa_keys_log_in(void **state) {
  const char *keys[] = {"id_ed25519", "id_ecdsa", "id_ecdsa_pem"};
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) fetches(keys[i], server_entry());
}

/* The image's user has no home (/nonexistent), where libgit2 1.8 looks for
 * ~/.ssh/known_hosts: a fetch needs none (repo.c gives libgit2 the cache
 * as its home). */
static void fetch_without_a_home(void **state) {
  setenv("HOME", "/nonexistent", 1);
  fetches("id_ed25519", server_entry());
}

static int home_again(void **state) {
  setenv("HOME", tmp, 1);
  return 0;
}

/* libssh2 before 1.11 signs with an RSA key as ssh-rsa (SHA-1), which
 * OpenSSH 8.8 and later refuse unless told otherwise; the message says so.
 * With a later libssh2 this test fails, and docs/runtime.md needs a word. */
static void rsa_keys_are_refused_with_the_reason(void **state) {
  char want[512];
  snprintf(want, sizeof want,
           "authentication failed for %s (an RSA key: libssh2 before 1.11 signs with ssh-rsa, SHA-1, which OpenSSH"
           " 8.8 and later refuse; an ed25519 or ecdsa key works)",
           url);
  refused("id_rsa", server_entry(), SOURCE_EAUTH, want);
  refused("id_rsa_pem", server_entry(), SOURCE_EAUTH, want);
}

/* An ecdsa host key serves as well as an ed25519 one; an RSA one does not:
 * OpenSSH 8.8 and later sign with it as rsa-sha2-256 or -512 only, which
 * libssh2 before 1.11 cannot check. */
static void ecdsa_host_keys_work_rsa_ones_do_not(void **state) {
  stop_sshd();
  start_sshd("host_ecdsa");
  fetches("id_ed25519", server_entry_for("host_ecdsa.pub"));
  stop_sshd();
  start_sshd("host_rsa");
  refused("id_ed25519", server_entry_for("host_rsa.pub"), SOURCE_EUNREACHABLE, "Unable to exchange encryption keys");
  stop_sshd();
  start_sshd("host_key");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(fetch_over_ssh_then_only_new_commits),
      cmocka_unit_test(changed_host_key_is_refused_before_login),
      cmocka_unit_test(key_of_another_type_is_unknown),
      cmocka_unit_test(host_missing_from_known_hosts_is_refused),
      cmocka_unit_test(unknown_key_is_refused),
      cmocka_unit_test(ed25519_and_ecdsa_keys_log_in),
      cmocka_unit_test_teardown(fetch_without_a_home, home_again),
      cmocka_unit_test(rsa_keys_are_refused_with_the_reason),
      cmocka_unit_test(ecdsa_host_keys_work_rsa_ones_do_not),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}

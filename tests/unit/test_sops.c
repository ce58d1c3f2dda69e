/* test_sops.c: files SOPS encrypted (compiler/sops.h): age's keys in
 * Bech32, the files sops 3.13.2 wrote decrypted as `sops -d` gives them,
 * and every file that was changed refused with a message that names it
 * and shows no plaintext. tests/sops/run.sh does the same with files the
 * real sops writes at test time, OpenPGP keys too. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "eval.h"
#include "plumb/yaml.h"
#include "sops.h"

/* Made by sops 3.13.2 with a key made by age-keygen for these tests alone. */
static const char AGE_KEY[] = "AGE-SECRET-KEY-1SWP75TFY9P7VUP9V9X0JS2KD64DEXS8AKJY0FXKP7H9480UM2EJSZM78FL\n";
static const char AGE_RECIPIENT[] = "age1vlkvjl00d0zdngla6pla5jffth57ll04hzel3rqwgha6r7z84utqyjs7qw";
static const char DEFAULT_RULE[] =
    "kind: ENC[AES256_GCM,data:0EGB3Knk,iv:CZ7C8rObkSkZqlXZM9iMw/OUFaOQRfCwyGVcNOVyBZ4=,tag:40pLoCeYMqYC4rabqQn0iQ==,type:str]\n"
    "stringData:\n"
    "    password: ENC[AES256_GCM,data:fozTId83KQ==,iv:P/0M6qczs/Q309AEdBdkXTz4FrFLxhlBJqXSHe7GVnE=,tag:p4VUwg/BfwbYfu0glU+E5A==,type:str]\n"
    "    \"n\": ENC[AES256_GCM,data:6w==,iv:gx7mUuVAk9sfO+r9YkvpbZUr13OyrAjYzCCXYyGrcxY=,tag:UHHlHmymiiupxpCGqSCxsQ==,type:int]\n"
    "    f: ENC[AES256_GCM,data:DDiRMA==,iv:hAyXh8a5bVTE/HCBiS3J9DGZLyoqEI0JQJ1eEFoU+9Y=,tag:cJvzvH6NewrSsYudvgyt+w==,type:float]\n"
    "    \"on\": ENC[AES256_GCM,data:wXJV,iv:HlvQ85m9oPsK+lQQEZ2oGB+fHkdqnsc4cqavtS/FARY=,tag:afzip2zL0IeklpqJ0Qepjw==,type:str]\n"
    "    plain_unencrypted: seen\n"
    "sops:\n"
    "    age:\n"
    "        - enc: |\n"
    "            -----BEGIN AGE ENCRYPTED FILE-----\n"
    "            YWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOSBTeC9qVDk3UlYwZDd1VVBQ\n"
    "            alp5cnN0clRFK3lDK3p0Z09FbzIyUDQ3bVgwCk53Wm5QY2ljaThJak1OOWVXOUZy\n"
    "            MU1yeHdiWTBEL0k5d2QveHdlSzNhajAKLS0tIEx2c2REeCtWUXllL3pHaCtlODh1\n"
    "            Zy9VRnR6Y3F3VDFyKzJycWdnSVI4bWMKeqR7coy2/idH/pz6NiPf0sRb0GCwvSOH\n"
    "            sXEMG1yao+hDXIFTEcvXoyOfLyHn88OwqJrPwqOQAyIKeQvHTpbnMw==\n"
    "            -----END AGE ENCRYPTED FILE-----\n"
    "          recipient: age1vlkvjl00d0zdngla6pla5jffth57ll04hzel3rqwgha6r7z84utqyjs7qw\n"
    "    lastmodified: \"2026-12-07T14:23:37Z\"\n"
    "    mac: ENC[AES256_GCM,data:Nqs4gXUHcmThPKcMhk+kXRmwJ3bMkWKX6NbYMEhwPZyq4VJC00YNKFX4H1i6kbkN6S1R4tYtMHBWkkaurjcgEB2F3CyB6fAZfYC91bKsuY9TPNGntOaQr8FIjm6iwrH+QQpeZdohTN5K1M/xfVDROB2P+8A1tVgGLeB4ZdE3zWE=,iv:wfZHnXOQycMEMCLPU89Rb1gQQYxeJVk6n7D+XgLlwyM=,tag:4Mo77IEZ+er6dihEx/645A==,type:str]\n"
    "    unencrypted_suffix: _unencrypted\n"
    "    version: 3.13.2\n";
static const char ENCRYPTED_REGEX[] =
    "kind: Secret\n"
    "metadata:\n"
    "    name: x\n"
    "data:\n"
    "    k: ENC[AES256_GCM,data:YUPvog==,iv:BXcFMUQT0kfrgcKUSem4uf9VEK1OmDynxohPya6sOo8=,tag:usaJU15inWBP9AFdehJJ3g==,type:str]\n"
    "sops:\n"
    "    age:\n"
    "        - enc: |\n"
    "            -----BEGIN AGE ENCRYPTED FILE-----\n"
    "            YWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOSBnN1NYTXVmMkRYSmpVZUd4\n"
    "            RmtvcjBXdkRsSnA2aFJjejRkN2plMFFoVXdNCmRNWmpNMDNobGJNenF3WTJpNUo0\n"
    "            bE9TNStiQkFMbSt1U1M2VVhRblVETVEKLS0tIGhzVzhPYlFQeWpURit4Nmd5SDdC\n"
    "            L2R4UmE4eGlvMk9adTN3SzFOTTlLY2cKcfAmOwE7ISzWpwAQfo4Yhi1uLDi0VH5/\n"
    "            z4dszx/jubRMPSuSMFe9RjzZPxd8lLzzn6joW5TcH5bsr+oEqhIF8Q==\n"
    "            -----END AGE ENCRYPTED FILE-----\n"
    "          recipient: age1vlkvjl00d0zdngla6pla5jffth57ll04hzel3rqwgha6r7z84utqyjs7qw\n"
    "    encrypted_regex: ^data$\n"
    "    lastmodified: \"2026-12-07T14:23:37Z\"\n"
    "    mac: ENC[AES256_GCM,data:QpXzaUonFNIVXMELbFhhkKS+WyJKe7Ji5yE5UPg18sM3xSvrCTmx1rHzhdRIBWag6GCctUEI9E4LAoKRDlzn5QLrX+Ufm2dbXxYI/3t5PSD5z68LeDFwFf5HAbMP68lrwP6TVNh8LXLvAa6DecIDnrL3Akm5k7ZIu28PduzP9BY=,iv:1smu7VnYYOaMIi0uKuo18ugIxTsfuqVpC6aoXjN4dDY=,tag:WuryCiUkCPg+c1wGJikC3Q==,type:str]\n"
    "    version: 3.13.2\n";
static const char DOTENV[] =
    "A=ENC[AES256_GCM,data:qQ==,iv:urDnrXvrsOZLoMC7+DBDe9HvgZSsI7feJs7G7yPRYxY=,tag:ClaCG4jwQRzcIV6AqgDYsA==,type:str]\n"
    "B=ENC[AES256_GCM,data:y8Mp,iv:rw55auPP/JtZELjS5mwsKFFPx188Bu8bLaYn25dEKhM=,tag:TJjfTdD+580BDu+qCao0jA==,type:str]\n"
    "sops_age__list_0__map_enc=-----BEGIN AGE ENCRYPTED FILE-----\\nYWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOSBuUkxkaDR3SE4xeklGOTFJ\\nYjB0b1MvNU1rZ3FHOFRBQ2pBbHM1YjNNM0hVCjBSbU1mV0U1bjZmeUZyekdxbndJ\\neTN3M1pHZUYvYVJmYmFDY0tYaVdMUTQKLS0tIHhYa05JOVcxVXYzMGhpcXdETjd1\\nYmxTZExFeERsWEZrZEJkNE0yVWVMelEKzwC9pzUR7dJHf47BRguwInDBg3v1870q\\nnYo6mIFOLsMFDPs7jSRYY98ujO9Al7pZViO0rFhTyfEBdHIxbH+HwA==\\n-----END AGE ENCRYPTED FILE-----\\n\n"
    "sops_age__list_0__map_recipient=age1vlkvjl00d0zdngla6pla5jffth57ll04hzel3rqwgha6r7z84utqyjs7qw\n"
    "sops_lastmodified=2026-12-07T14:23:37Z\n"
    "sops_mac=ENC[AES256_GCM,data:i3/hGyMe+GNqnAcSV+/0CINEqCuV9ORLUt3bfwjlT3cXrc6jthy1NfMbzxTQDud04hLpNGmpdwQIolByJV7tCc46XZy66JWVPO1yVI8dVNQi3c/VfplG9SAmJCeH0Vr6irWgFj9ZGBARROJLDLD3vf1jvCjkuAM/K6bScjTNQ/o=,iv:SQsVvpuBftM4mMoP/8QpwHPsWp7BN2hYhMSz5+fDeIU=,tag:dHIRjPQJ2pgju9PVGCGNkg==,type:str]\n"
    "sops_unencrypted_suffix=_unencrypted\n"
    "sops_version=3.13.2\n";

static arena *A;
static diag_list D;
static eval *EV;
static compile_opts O;
static compile_sops_key KEY;

static int setup(void **state) {
  A = arena_new();
  diag_init(&D, A);
  EV = eval_new(A, &D, loader_new_memory(A, NULL));
  KEY = (compile_sops_key){COMPILE_SOPS_AGE, "the test's key", AGE_KEY, strlen(AGE_KEY)};
  O = (compile_opts){.sops_keys = &KEY, .nsops_keys = 1};
  eval_set_opts(EV, &O);
  return 0;
}

static int teardown(void **state) {
  sops_end(EV);
  eval_forget_syntax(EV);
  arena_free(A);
  return 0;
}

/* text's documents, decrypted; NULL with the messages in D. */
static value *decrypt(const char *name, const char *text) {
  value *docs;
  if (yaml_read(A, &D, name, text, strlen(text), &docs) != 0) fail_msg("not YAML: %s", name);
  return sops_docs(EV, name, text, strlen(text), docs);
}

/* The one message of a failed decryption, which must hold `want` and
 * never the plaintext. */
static void assert_refused(const char *name, const char *text, const char *want) {
  assert_null(decrypt(name, text));
  assert_non_null(D.first);
  if (!strstr(D.first->msg, want)) fail_msg("message %s lacks %s", D.first->msg, want);
  assert_non_null(strstr(D.first->msg, name));
  assert_null(strstr(D.first->msg, "hunter2"));
}

/* text with its first `from` replaced by `to`, in A. */
static const char *changed(const char *text, const char *from, const char *to) {
  const char *at = strstr(text, from);
  assert_non_null(at);
  return arena_printf(A, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
}

static void test_age_identity(void **state) {
  uint8_t key[32];
  char recipient[SOPS_AGE_RECIPIENT];
  assert_true(sops_age_identity(AGE_KEY, strlen(AGE_KEY) - 1, key));
  sops_age_recipient(key, recipient);
  assert_string_equal(recipient, AGE_RECIPIENT);
  /* The checksum catches a changed character; one case, one prefix. */
  char bad[128];
  snprintf(bad, sizeof bad, "%s", AGE_KEY);
  bad[20] = bad[20] == 'Q' ? 'P' : 'Q';
  assert_false(sops_age_identity(bad, strlen(bad) - 1, key));
  snprintf(bad, sizeof bad, "%s", AGE_KEY);
  bad[17] = (char)(bad[17] | 0x20); /* W, in lower case */
  assert_false(sops_age_identity(bad, strlen(bad) - 1, key));
  assert_false(sops_age_identity("AGE-PUBLIC-KEY-1QQQQQQ", 22, key));
  assert_false(sops_age_identity(AGE_KEY, 40, key));
}

static void test_default_rule(void **state) {
  value *docs = decrypt("s.yaml", DEFAULT_RULE);
  if (!docs) diag_print(&D, stderr);
  assert_non_null(docs);
  const value *doc = docs->u.list.items[0];
  assert_null(value_object_get(doc, "sops"));
  const value *pw = value_get_path(doc, "stringData.password");
  assert_string_equal(pw->u.str.s, "hunter2");
  assert_true(pw->secret);
  assert_int_equal(pw->at.line, 3);
  assert_int_equal(value_get_path(doc, "stringData.n")->u.i, 7);
  assert_true(value_get_path(doc, "stringData.f")->u.f == 0.25);
  /* go-yaml v3's reading, which sops wrote from: yes is a string. */
  assert_string_equal(value_get_path(doc, "stringData.on")->u.str.s, "yes");
  const value *seen = value_get_path(doc, "stringData.plain_unencrypted");
  assert_string_equal(seen->u.str.s, "seen");
  assert_false(seen->secret);
}

static void test_encrypted_regex(void **state) {
  value *docs = decrypt("r.yaml", ENCRYPTED_REGEX);
  assert_non_null(docs);
  assert_string_equal(value_get_path(docs->u.list.items[0], "data.k")->u.str.s, "djE=");
  assert_false(value_get_path(docs->u.list.items[0], "metadata.name")->secret);
}

static void test_dotenv(void **state) {
  size_t n;
  assert_true(sops_text_encrypted(EV, "c.env", DOTENV, strlen(DOTENV)));
  const char *text = sops_text(EV, "c.env", DOTENV, strlen(DOTENV), &n);
  assert_non_null(text);
  assert_string_equal(text, "A=1\nB=two\n");
  assert_false(sops_text_encrypted(EV, "plain.env", "A=1\n", 4));
}

static void test_changed_value(void **state) {
  assert_refused("s.yaml", changed(DEFAULT_RULE, "data:fozTId83KQ==", "data:fozTId83KA=="), "does not decrypt");
}

static void test_moved_value(void **state) {
  const char *text = changed(DEFAULT_RULE, "password: ENC", "passwd: ENC");
  assert_refused("s.yaml", text, "at stringData.passwd");
}

static void test_changed_clear_value(void **state) {
  assert_refused("s.yaml", changed(DEFAULT_RULE, "plain_unencrypted: seen", "plain_unencrypted: other"),
                 "MAC of s.yaml does not match");
}

static void test_changed_mac(void **state) {
  assert_refused("s.yaml", changed(DEFAULT_RULE, "mac: ENC[AES256_GCM,data:Nqs4", "mac: ENC[AES256_GCM,data:Nqs5"),
                 "the MAC of s.yaml does not decrypt");
}

static void test_value_taken_out(void **state) {
  const char *at = strstr(DEFAULT_RULE, "    \"n\":"), *end = strchr(at, '\n') + 1;
  const char *text = arena_printf(A, "%.*s%s", (int)(at - DEFAULT_RULE), DEFAULT_RULE, end);
  assert_refused("s.yaml", text, "MAC of s.yaml does not match");
}

static void test_cut_short(void **state) {
  const char *text = arena_strndup(A, DEFAULT_RULE, (size_t)(strstr(DEFAULT_RULE, "sops:") - DEFAULT_RULE));
  assert_refused("s.yaml", text, "no sops metadata");
}

static void test_no_key(void **state) {
  O.nsops_keys = 0;
  assert_refused("s.yaml", DEFAULT_RULE, "no key was given");
  assert_non_null(strstr(D.first->msg, AGE_RECIPIENT));
}

static void test_wrong_key(void **state) {
  static const char other[] = "# another\nAGE-SECRET-KEY-1EUASYZU5Q7CXA0PFX6NLWV3772X0HGTLNU4C8494Y622RP20HLLSEHV69D\n";
  KEY = (compile_sops_key){COMPILE_SOPS_AGE, "other", other, strlen(other)};
  uint8_t k[32];
  assert_true(sops_age_identity(other + 10, strlen(other) - 11, k));
  assert_refused("s.yaml", DEFAULT_RULE, "none of the keys given opens it");
}

static void test_bad_key_file(void **state) {
  static const char bad[] = "AGE-SECRET-KEY-1NOTAKEY\n";
  KEY = (compile_sops_key){COMPILE_SOPS_AGE, "--sops-age-key-file k.txt", bad, strlen(bad)};
  assert_null(decrypt("s.yaml", DEFAULT_RULE));
  assert_string_equal(D.first->msg,
                      "sops: --sops-age-key-file k.txt, line 1, is not an age identity (AGE-SECRET-KEY-1...)");
}

static void test_metadata_refused(void **state) {
  assert_refused("s.yaml", changed(DEFAULT_RULE, "lastmodified: \"2026", "lastmodified: \"26"), "no RFC 3339 time");
  teardown(state), setup(state);
  assert_refused("s.yaml", changed(DEFAULT_RULE, "    unencrypted_suffix:", "    encrypted_regex: x\n    unencrypted_suffix:"),
                 "has both");
  teardown(state), setup(state);
  assert_refused("s.yaml", changed(DEFAULT_RULE, "    unencrypted_suffix: _unencrypted", "    encrypted_comment_regex: x"),
                 "encrypted by comments");
  teardown(state), setup(state);
  assert_refused("s.yaml", changed(DEFAULT_RULE, "BEGIN AGE ENCRYPTED FILE-----\n            YWdl", "BEGIN AGE ENCRYPTED FILE-----\n            ZWdl"),
                 "no armored age file");
}

/* A file without sops metadata is left as it is. */
static void test_plain(void **state) {
  static const char plain[] = "kind: Secret\nstringData:\n  a: b\n";
  value *docs;
  assert_int_equal(yaml_read(A, &D, "p.yaml", plain, strlen(plain), &docs), 0);
  assert_ptr_equal(sops_docs(EV, "p.yaml", plain, strlen(plain), docs), docs);
  assert_int_equal(sops_format_of("x.yml"), SOPS_YAML);
  assert_int_equal(sops_format_of("x.json"), SOPS_JSON);
  assert_int_equal(sops_format_of("x.env"), SOPS_DOTENV);
  assert_int_equal(sops_format_of("tls.key"), SOPS_BINARY);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_age_identity, setup, teardown),
      cmocka_unit_test_setup_teardown(test_default_rule, setup, teardown),
      cmocka_unit_test_setup_teardown(test_encrypted_regex, setup, teardown),
      cmocka_unit_test_setup_teardown(test_dotenv, setup, teardown),
      cmocka_unit_test_setup_teardown(test_changed_value, setup, teardown),
      cmocka_unit_test_setup_teardown(test_moved_value, setup, teardown),
      cmocka_unit_test_setup_teardown(test_changed_clear_value, setup, teardown),
      cmocka_unit_test_setup_teardown(test_changed_mac, setup, teardown),
      cmocka_unit_test_setup_teardown(test_value_taken_out, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cut_short, setup, teardown),
      cmocka_unit_test_setup_teardown(test_no_key, setup, teardown),
      cmocka_unit_test_setup_teardown(test_wrong_key, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bad_key_file, setup, teardown),
      cmocka_unit_test_setup_teardown(test_metadata_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_plain, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

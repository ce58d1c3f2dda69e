/* test_health_lua.c: health scripts (runtime/health/lua.c): the sandbox
 * Argo CD's scripts run in, its bounds, the object as a script sees it,
 * and the runtime's scripts as health_assess finds them.
 *
 * Each case runs a script on an object and expects a health and its exact
 * message: what a user reads in the status. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "plumb/arena.h"
#include "plumb/health.h"
#include "json_test.h"

#define CERT "{'apiVersion': 'cert-manager.io/v1', 'kind': 'Certificate', 'metadata': {'name': 'web'}}"

static health_lua *compile(const char *key, const char *text) {
  health_lua *s;
  char *err;
  if (health_lua_new(key, text, strlen(text), &s, &err) != 0) fail_msg("%s does not compile: %s", text, err);
  return s;
}

static void expect(const char *script, const char *object, health_code code, const char *message) {
  health_lua *s = compile("cert-manager.io/Certificate", script);
  json_t *obj = parse(object);
  health_status h = health_lua_run(s, obj);
  if (h.code != code || strcmp(h.message, message) != 0)
    fail_msg("%s\n  got:  %s \"%s\"\n  want: %s \"%s\"", script, health_name(h.code), h.message, health_name(code),
             message);
  json_decref(obj);
  health_lua_free(s);
}

static void healthy_when(const char *condition) {
  char *script = heap_printf("if %s then return {status = 'Healthy', message = 'yes'} end "
                             "return {status = 'Degraded', message = 'no'}",
                             condition);
  expect(script, CERT, HEALTH_HEALTHY, "yes");
  free(script);
}

/* Argo CD's result, as its scripts give it. */
static void verdicts(void **state) {
  expect("return {status = 'Progressing', message = 'Waiting for certificate'}", CERT, HEALTH_PROGRESSING,
         "Waiting for certificate");
  expect("hs = {} hs.status = 'Healthy' return hs", CERT, HEALTH_HEALTHY, "");
  expect("return {status = 'Suspended', message = 'paused'}", CERT, HEALTH_SUSPENDED, "paused");
  expect("return {status = 'Missing'}", CERT, HEALTH_MISSING, "");
  expect("return {status = 'Unknown', message = '?'}", CERT, HEALTH_UNKNOWN, "?");
  /* The last value returned, as Argo CD takes the top of the stack. */
  expect("return 1, {status = 'Degraded', message = 'last'}", CERT, HEALTH_DEGRADED, "last");
}

#define SAYS "health script for cert-manager.io/Certificate: "
#define NOT_A_STATUS(s) \
  SAYS "returned the status \"" s "\", not Healthy, Progressing, Degraded, Suspended, Missing or Unknown"

/* What is not a verdict is Unknown, saying so. */
static void garbage(void **state) {
  static const char *const cases[][2] = {
      {"local x = 1", SAYS "returned nil, not a table {status, message}"},
      {"return 'Healthy'", SAYS "returned string, not a table {status, message}"},
      {"return {status = 'Fine'}", NOT_A_STATUS("Fine")},
      {"return {}", NOT_A_STATUS("")},
      {"return {status = 1}", SAYS "status must be a string, got number"},
      {"return {status = 'Healthy', message = {}}", SAYS "message must be a string, got table"},
      /* A metamethod of the result is not run: its fields are read raw. */
      {"return setmetatable({}, {__index = function() while true do end end})", NOT_A_STATUS("")},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) expect(cases[i][0], CERT, HEALTH_UNKNOWN, cases[i][1]);
}

static void errors(void **state) {
  expect("local hs = {}\nif obj.status.conditions then hs.status = 'Healthy' end\nreturn hs", CERT, HEALTH_UNKNOWN,
         SAYS "line 2: attempt to index a nil value (field 'status')");
  expect("error('no way')", CERT, HEALTH_UNKNOWN, SAYS "line 1: no way");
  expect("error({})", CERT, HEALTH_UNKNOWN, SAYS "raised an error object that is a table, not a string");
}

/* Libraries that reach outside the state are not there; those Argo CD
 * opens are. */
static void sandbox(void **state) {
  const char *absent[] = {"io",         "require",    "package",   "debug",     "dofile",
                          "loadfile",   "os.execute", "os.exit",   "os.getenv", "os.remove",
                          "os.rename",  "os.tmpname", "os.setlocale", "string.dump"};
  for (size_t i = 0; i < sizeof absent / sizeof *absent; i++) {
    char *cond = heap_printf("%s == nil", absent[i]);
    healthy_when(cond);
    free(cond);
  }
  healthy_when("type(os.time()) == 'number' and type(os.date('!%Y')) == 'string'");
  healthy_when("string.format('%d/%d', 1, 2) == '1/2' and ('abc'):upper() == 'ABC' and math.floor(2.5) == 2");
  healthy_when("table.concat({'a', 'b'}, ',') == 'a,b' and coroutine.wrap(function() return 1 end)() == 1");
  /* gopher-lua's Lua 5.1 names, which Argo CD's scripts may use. */
  healthy_when("unpack({1, 2}) == 1 and table.getn({1, 2, 3}) == 3 and table.maxn({[7] = 1}) == 7");
  healthy_when("math.mod(7, 3) == 1 and loadstring('return 4')() == 4 and print('x') == nil");
  /* load reads text, never bytecode, which Lua does not check. */
  healthy_when("load('\\27Lua\\84\\0') == nil and select(2, load('\\27Lua')):find('binary chunk') ~= nil");
  healthy_when("load('return x', 'chunk', 't', {x = 5})() == 5");
  /* A finalizer would run with no bound on it: refused. */
  healthy_when("not pcall(setmetatable, {}, {__gc = function() while true do end end})");
  healthy_when("getmetatable(setmetatable({}, {__index = {a = 1}})).__index.a == 1");
}

/* Nothing a run leaves reaches the next: globals, library tables. */
static void fresh_state(void **state) {
  health_lua *s = compile("x/Y", "local seen = leftover leftover = 1 string.upper = nil\n"
                                  "if seen == nil and ('a'):len() == 1 then return {status = 'Healthy'} end\n"
                                  "return {status = 'Degraded'}");
  json_t *obj = parse(CERT);
  for (int i = 0; i < 3; i++) assert_int_equal(health_lua_run(s, obj).code, HEALTH_HEALTHY);
  json_decref(obj);
  health_lua_free(s);
}

static void loops_stop(void **state) {
  char *ran = heap_printf("health script for cert-manager.io/Certificate: ran more than %d instructions",
                          HEALTH_LUA_STEPS);
  expect("while true do end", CERT, HEALTH_UNKNOWN, ran);
  /* pcall does not catch its way past the bound. */
  expect("while true do pcall(function() while true do end end) end", CERT, HEALTH_UNKNOWN, ran);
  expect("local ok = pcall(function() while true do end end) return {status = 'Healthy'}", CERT, HEALTH_UNKNOWN,
         ran);
  expect("local co = coroutine.wrap(function() while true do end end) co()", CERT, HEALTH_UNKNOWN, ran);
  expect("local function f() return f() end return f()", CERT, HEALTH_UNKNOWN, ran);
  /* Nor does a loop of pcalls whose errors land inside them, nor of
   * coroutines, which inherit the hook. */
  for (int n = 990; n < 1010; n += 3) {
    char *script = heap_printf("local function f() for i = 1, %d do end end while true do pcall(f) end", n);
    expect(script, CERT, HEALTH_UNKNOWN, ran);
    free(script);
  }
  expect("while true do coroutine.resume(coroutine.create(function() while true do end end)) end", CERT,
         HEALTH_UNKNOWN, ran);
  free(ran);
}

static void memory_bombs(void **state) {
  char *used = heap_printf("health script for cert-manager.io/Certificate: used more than %u MiB of memory",
                           HEALTH_LUA_MEMORY >> 20);
  expect("local s = 'x' while true do s = s .. s end", CERT, HEALTH_UNKNOWN, used);
  expect("return string.rep('x', 1 << 30)", CERT, HEALTH_UNKNOWN, used);
  expect("local t = {} for i = 1, 1e8 do t[i] = {i} end", CERT, HEALTH_UNKNOWN, used);
  /* Recursion grows the stack until the memory runs out. */
  expect("local function f() return f() + 1 end return f()", CERT, HEALTH_UNKNOWN, used);
  /* Caught, the refusal leaves the script going, within its bounds. */
  expect("local ok = pcall(string.rep, 'x', 1 << 30)\n"
         "return {status = ok and 'Degraded' or 'Healthy'}",
         CERT, HEALTH_HEALTHY, "");
  free(used);
}

/* obj as Argo CD gives it: JSON arrays are sequences from 1, nulls left
 * out, integral numbers print without ".0" as gopher-lua's floats do. */
static void the_object(void **state) {
  const char *o = "{'apiVersion': 'example.com/v1', 'kind': 'Thing', 'metadata': {'name': 'a', 'generation': 3}, "
                  "'spec': {'list': ['a', null, 'b'], 'n': 2, 'f': 2.0, 'half': 2.5, 'big': 1e300, 'none': null, "
                  "'yes': true, 'nested': [[1, 2], {'k': 'v'}]}}";
  const char *conds[] = {"#obj.spec.list == 2 and obj.spec.list[1] == 'a' and obj.spec.list[2] == 'b'",
                         "'x' .. obj.spec.n == 'x2' and 'x' .. obj.spec.f == 'x2' and 'x' .. obj.spec.half == 'x2.5'",
                         "obj.spec.big > 1e299 and obj.spec.none == nil and obj.spec.yes == true",
                         "obj.spec.nested[1][2] == 2 and obj.spec.nested[2].k == 'v'",
                         "obj.metadata.generation == 3 and math.type(obj.metadata.generation) == 'integer'",
                         "next(obj.spec.list, 2) == nil and obj.kind == 'Thing'"};
  for (size_t i = 0; i < sizeof conds / sizeof *conds; i++) {
    char *script = heap_printf("if %s then return {status = 'Healthy'} end return {status = 'Degraded'}", conds[i]);
    expect(script, o, HEALTH_HEALTHY, "");
    free(script);
  }
}

/* The conversion is bounded: an object nested past the limit is refused,
 * in words, before the script runs. */
static void deep_object(void **state) {
  buf b = {0};
  buf_puts(&b, "{\"apiVersion\": \"v1\", \"kind\": \"Deep\", \"spec\": ");
  for (int i = 0; i < 500; i++) buf_puts(&b, "[");
  for (int i = 0; i < 500; i++) buf_puts(&b, "]");
  buf_puts(&b, "}");
  expect("return {status = 'Healthy'}", b.data, HEALTH_UNKNOWN,
         "health script for cert-manager.io/Certificate: the object nests deeper than 100 levels");
  buf_free(&b);
}

static void compile_errors(void **state) {
  health_lua *s;
  char *err;
  const char *bad = "local hs = {}\nif obj.status then\nreturn hs";
  assert_int_equal(health_lua_new("x/Y", bad, strlen(bad), &s, &err), -1);
  assert_null(s);
  assert_string_equal(err, "line 3: 'end' expected (to close 'if' at line 2) near <eof>");
  free(err);
  /* Bytecode is no script. */
  assert_int_equal(health_lua_new("x/Y", "\x1bLua", 4, &s, &err), -1);
  assert_string_equal(err, "attempt to load a binary chunk (mode is 't')");
  free(err);
  size_t n = HEALTH_LUA_SCRIPT_MAX + 1;
  char *big = heap_alloc(n);
  memset(big, ' ', n);
  assert_int_equal(health_lua_new("x/Y", big, n, &s, &err), -1);
  assert_string_equal(err, "the script is 257 KiB; health scripts may be at most 256 KiB");
  free(err);
  free(big);
}

/* The runtime's scripts: the exact group and kind first, then the first
 * pattern, before Plumb's own rules; gone when replaced. */
static void installed(void **state) {
  health_lua_rule rules[] = {
      {"*.example.com", "*", compile("*.example.com/*", "return {status = 'Degraded', message = 'any'}")},
      {"db.example.com", "Claim", compile("db.example.com/Claim", "return {status = 'Healthy', message = 'exact'}")},
      {"apps", "Deployment", compile("apps/Deployment", "return {status = 'Suspended', message = 'mine'}")},
      {"", "ConfigMap", compile("ConfigMap", "return {status = 'Progressing', message = obj.data.step}")},
  };
  health_lua_install(rules, 4);
  const struct {
    const char *obj;
    health_code code;
    const char *message;
  } cases[] = {
      {"{'apiVersion': 'db.example.com/v1', 'kind': 'Claim'}", HEALTH_HEALTHY, "exact"},
      {"{'apiVersion': 'db.example.com/v1', 'kind': 'Other'}", HEALTH_DEGRADED, "any"},
      {"{'apiVersion': 'cache.example.com/v2', 'kind': 'Claim'}", HEALTH_DEGRADED, "any"},
      {"{'apiVersion': 'apps/v1', 'kind': 'Deployment', 'spec': {'replicas': 3}}", HEALTH_SUSPENDED, "mine"},
      {"{'apiVersion': 'v1', 'kind': 'ConfigMap', 'data': {'step': 'two'}}", HEALTH_PROGRESSING, "two"},
      {"{'apiVersion': 'example.com/v1', 'kind': 'Claim'}", HEALTH_HEALTHY, ""},
      {"{'apiVersion': 'db.example.com/v1', 'kind': 'Claim', 'metadata': {'deletionTimestamp': 'x'}}",
       HEALTH_PROGRESSING, "Pending deletion"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    json_t *obj = parse(cases[i].obj);
    health_status h = health_assess(obj);
    if (h.code != cases[i].code || strcmp(h.message, cases[i].message) != 0)
      fail_msg("%s: got %s \"%s\"", cases[i].obj, health_name(h.code), h.message);
    json_decref(obj);
  }
  assert_true(health_has_rule("db.example.com/v1", "Claim"));
  assert_false(health_has_rule("example.com/v1", "Claim"));
  health_lua_install(NULL, 0);
  assert_false(health_has_rule("db.example.com/v1", "Claim"));
  json_t *obj = parse("{'apiVersion': 'db.example.com/v1', 'kind': 'Claim'}");
  assert_int_equal(health_assess(obj).code, HEALTH_HEALTHY);
  assert_string_equal(health_assess(obj).message, "");
  json_decref(obj);
}

static void *assess_many(void *arg) {
  json_t *obj = arg;
  for (int i = 0; i < 200; i++)
    if (health_assess(obj).code != HEALTH_PROGRESSING) return "wrong";
  return NULL;
}

/* Threads assess at once while the scripts are replaced under them. */
static void threads(void **state) {
  health_lua_rule rule = {"", "ConfigMap", compile("ConfigMap", "return {status = 'Progressing'}")};
  health_lua_install(&rule, 1);
  json_t *obj = parse("{'apiVersion': 'v1', 'kind': 'ConfigMap'}");
  pthread_t t[4];
  for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, assess_many, obj);
  for (int i = 0; i < 20; i++) {
    health_lua_rule again = {"", "ConfigMap", compile("ConfigMap", "return {status = 'Progressing'}")};
    health_lua_install(&again, 1);
  }
  for (int i = 0; i < 4; i++) {
    void *r;
    pthread_join(t[i], &r);
    assert_null(r);
  }
  json_decref(obj);
  health_lua_install(NULL, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(verdicts),    cmocka_unit_test(garbage),      cmocka_unit_test(errors),
      cmocka_unit_test(sandbox),     cmocka_unit_test(fresh_state),  cmocka_unit_test(loops_stop),
      cmocka_unit_test(memory_bombs), cmocka_unit_test(the_object),  cmocka_unit_test(deep_object),
      cmocka_unit_test(compile_errors), cmocka_unit_test(installed), cmocka_unit_test(threads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

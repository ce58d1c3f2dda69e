/* lua.c: Argo CD's health scripts (health.lua), run by Lua 5.4 in a sandbox.
 *
 * A script is run as Argo CD runs one (util/lua in argo-cd, on gopher-lua):
 * the live object is the global `obj`, a table made from its JSON (arrays
 * are sequences from 1, nulls left out, as gopher-lua's Append and
 * RawSetH leave them out); the last value the chunk returns must be a
 * table {status = "Healthy"|..., message = "..."}. Argo CD opens the base,
 * table, string, math and coroutine libraries for its own scripts, and a
 * "safe" os of two functions, time and date; so does Plumb, and nothing
 * else: no io, no os beyond those two, no package or require, no debug, no
 * dofile or loadfile, and load (and loadstring) read text only, never
 * bytecode, which Lua does not check. print writes nowhere; setmetatable
 * refuses a __gc, which Lua would run with no hook to stop it. A few Lua 5.1
 * names gopher-lua has and 5.4 lost (unpack, loadstring, table.getn,
 * table.maxn, math.mod) are given back, so scripts run unchanged.
 *
 * Lua 5.4 tells integers from floats where gopher-lua has only floats: a
 * JSON number with an integral value becomes an integer, so that "x" .. 2
 * reads "x2", as there, not "x2.0".
 *
 * Bounds: Argo CD stops a script after a second. Here a count hook stops it
 * after HEALTH_LUA_STEPS instructions, the same on every machine, and an
 * allocator refuses memory past HEALTH_LUA_MEMORY; the object's conversion
 * counts, and nests HEALTH_LUA_DEPTH deep at most. Once stopped, the hook
 * fires at every instruction and raises again, so a pcall in the script
 * cannot catch its way past the bound. Each run has a state of its own,
 * made and closed around it (tens of microseconds): nothing a script sets,
 * globals or library tables, reaches the next run, and runs on several
 * threads share nothing. The script is compiled once; each run loads its
 * bytecode, which Plumb made itself. */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <fnmatch.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plumb/arena.h"
#include "plumb/health.h"

struct health_lua {
  char *key;      /* "cert-manager.io/Certificate", as messages name it */
  char *bytecode; /* lua_dump of the compiled chunk */
  size_t len;
};

/* How often the count hook looks at the instruction count. */
#define HOOK_EVERY 1000

/* One run's bounds and what crossed them; the state's extra space points
 * here. */
typedef struct {
  size_t used, cap;
  long steps;
  bool stopped, refused;
} budget;

static void *bounded_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  budget *b = ud;
  size_t old = ptr ? osize : 0;
  if (nsize == 0) {
    free(ptr);
    b->used -= old;
    return NULL;
  }
  if (nsize > old && b->used + (nsize - old) > b->cap) {
    b->refused = true;
    return NULL;
  }
  void *p = realloc(ptr, nsize);
  if (p) b->used = b->used - old + nsize;
  return p;
}

static budget *budget_of(lua_State *L) { return *(budget **)lua_getextraspace(L); }

/* Past the bound, every instruction of the thread it fires on raises (a
 * coroutine's, then its resumer's): each pcall catches one error, and the
 * next instruction outside it raises again. */
static void count_hook(lua_State *L, lua_Debug *ar) {
  budget *b = budget_of(L);
  if (!b->stopped && (b->steps += HOOK_EVERY) <= HEALTH_LUA_STEPS) return;
  b->stopped = true;
  lua_sethook(L, count_hook, LUA_MASKCOUNT, 1);
  luaL_error(L, "ran more than %d instructions", HEALTH_LUA_STEPS);
}

static lua_State *state_new(budget *b) {
  lua_State *L = lua_newstate(bounded_alloc, b);
  if (!L) return NULL;
  *(budget **)lua_getextraspace(L) = b;
  return L;
}

/* ---- the libraries ------------------------------------------------------- */

static int print_nowhere(lua_State *L) { return 0; }

/* setmetatable without finalizers: Lua runs __gc with hooks off, where no
 * bound would stop a loop, and at lua_close. A __gc added to a metatable
 * later marks nothing (Lua 5.4, 2.5.3). */
static int setmetatable_without_gc(lua_State *L) {
  if (lua_type(L, 2) == LUA_TTABLE) {
    lua_pushstring(L, "__gc");
    if (lua_rawget(L, 2) != LUA_TNIL) return luaL_error(L, "setmetatable: a __gc metamethod is not allowed here");
    lua_pop(L, 1);
  }
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, 1);
  return 1;
}

/* load(chunk [, name [, mode [, env]]]) of text only: the mode is forced. */
static int load_text(lua_State *L) {
  int env = lua_isnone(L, 4) ? 0 : 4;
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  const char *name = luaL_optstring(L, 2, "=(load)");
  int rc = luaL_loadbufferx(L, s, len, name, "t");
  if (rc != LUA_OK) {
    luaL_pushfail(L);
    lua_insert(L, -2);
    return 2;
  }
  if (env) {
    lua_pushvalue(L, env);
    if (!lua_setupvalue(L, -2, 1)) lua_pop(L, 1);
  }
  return 1;
}

static int table_getn(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_pushinteger(L, (lua_Integer)lua_rawlen(L, 1));
  return 1;
}

/* The largest positive numeric key, as Lua 5.1's table.maxn. */
static int table_maxn(lua_State *L) {
  lua_Number max = 0;
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_pushnil(L);
  while (lua_next(L, 1)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) == LUA_TNUMBER && lua_tonumber(L, -1) > max) max = lua_tonumber(L, -1);
  }
  lua_pushnumber(L, max);
  return 1;
}

static int math_mod(lua_State *L) {
  lua_pushnumber(L, fmod(luaL_checknumber(L, 1), luaL_checknumber(L, 2)));
  return 1;
}

static void set_nil(lua_State *L, int table, const char *name) {
  lua_pushnil(L);
  lua_setfield(L, table, name);
}

static void set_fn(lua_State *L, int table, const char *name, lua_CFunction f) {
  lua_pushcfunction(L, f);
  lua_setfield(L, table, name);
}

/* The libraries Argo CD opens for its scripts, less what reaches outside
 * the state. Runs protected: opening them allocates. */
static int open_sandbox(lua_State *L) {
  static const luaL_Reg libs[] = {{LUA_GNAME, luaopen_base},         {LUA_TABLIBNAME, luaopen_table},
                                  {LUA_STRLIBNAME, luaopen_string},  {LUA_MATHLIBNAME, luaopen_math},
                                  {LUA_COLIBNAME, luaopen_coroutine}, {NULL, NULL}};
  for (const luaL_Reg *l = libs; l->func; l++) {
    luaL_requiref(L, l->name, l->func, 1);
    lua_pop(L, 1);
  }
  lua_pushglobaltable(L);
  int g = lua_gettop(L);
  set_nil(L, g, "dofile");
  set_nil(L, g, "loadfile");
  set_fn(L, g, "load", load_text);
  set_fn(L, g, "loadstring", load_text);
  set_fn(L, g, "print", print_nowhere);
  lua_getfield(L, g, "setmetatable");
  lua_pushcclosure(L, setmetatable_without_gc, 1);
  lua_setfield(L, g, "setmetatable");
  lua_getfield(L, g, LUA_TABLIBNAME);
  lua_getfield(L, -1, "unpack");
  lua_setfield(L, g, "unpack");
  set_fn(L, lua_gettop(L), "getn", table_getn);
  set_fn(L, lua_gettop(L), "maxn", table_maxn);
  lua_getfield(L, g, LUA_STRLIBNAME);
  set_nil(L, lua_gettop(L), "dump");
  lua_getfield(L, g, LUA_MATHLIBNAME);
  set_fn(L, lua_gettop(L), "mod", math_mod);
  lua_pop(L, 3);
  /* Argo CD's safe os: time and date, taken from the real one, which is
   * not kept. */
  luaopen_os(L);
  lua_createtable(L, 0, 2);
  lua_getfield(L, -2, "time");
  lua_setfield(L, -2, "time");
  lua_getfield(L, -2, "date");
  lua_setfield(L, -2, "date");
  lua_setfield(L, g, LUA_OSLIBNAME);
  lua_pop(L, 2);
  /* The libraries' registry entries (package.loaded's table) stay; no
   * function can reach them. */
  return 0;
}

/* ---- the object ------------------------------------------------------------ */

/* Pushes v as gopher-lua's decodeValue makes it; false when it nests too
 * deep. Runs protected: pushing allocates. */
static bool push_json(lua_State *L, const json_t *v, int depth) {
  if (depth > HEALTH_LUA_DEPTH) return false;
  luaL_checkstack(L, 3, "object nests too deep");
  switch (json_typeof(v)) {
  case JSON_OBJECT: {
    lua_createtable(L, 0, (int)json_object_size(v));
    const char *key;
    const json_t *item;
    json_object_foreach((json_t *)v, key, item) {
      if (json_is_null(item)) continue;
      if (!push_json(L, item, depth + 1)) return false;
      lua_setfield(L, -2, key);
    }
    return true;
  }
  case JSON_ARRAY: {
    lua_createtable(L, (int)json_array_size(v), 0);
    size_t i;
    const json_t *item;
    lua_Integer n = 0;
    json_array_foreach(v, i, item) {
      if (json_is_null(item)) continue;
      if (!push_json(L, item, depth + 1)) return false;
      lua_rawseti(L, -2, ++n);
    }
    return true;
  }
  case JSON_STRING:
    lua_pushlstring(L, json_string_value(v), json_string_length(v));
    return true;
  case JSON_INTEGER:
    lua_pushinteger(L, (lua_Integer)json_integer_value(v));
    return true;
  case JSON_REAL: {
    double d = json_real_value(v);
    if (d == floor(d) && fabs(d) < 9007199254740992.0) lua_pushinteger(L, (lua_Integer)d);
    else lua_pushnumber(L, d);
    return true;
  }
  case JSON_TRUE:
  case JSON_FALSE:
    lua_pushboolean(L, json_is_true(v));
    return true;
  default:
    lua_pushnil(L);
    return true;
  }
}

static int set_obj(lua_State *L) {
  const json_t *obj = lua_touserdata(L, 1);
  if (!push_json(L, obj, 0)) return luaL_error(L, "the object nests deeper than %d levels", HEALTH_LUA_DEPTH);
  lua_setglobal(L, "obj");
  return 0;
}

/* ---- compiling and running ------------------------------------------------- */

static int collect(lua_State *L, const void *p, size_t n, void *ud) {
  buf *b = ud;
  buf_put(b, p, n);
  return 0;
}

/* Lua's message, its chunk name "lua:N:" made "line N:". */
static char *words(lua_State *L, int rc, const budget *b) {
  if (b->stopped) return heap_printf("ran more than %d instructions", HEALTH_LUA_STEPS);
  if (rc == LUA_ERRMEM) return heap_printf("used more than %u MiB of memory", HEALTH_LUA_MEMORY >> 20);
  const char *m = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
  if (!m) return heap_printf("raised an error object that is a %s, not a string", luaL_typename(L, -1));
  if (strncmp(m, "lua:", 4) == 0 && m[4] >= '0' && m[4] <= '9') {
    size_t digits = strspn(m + 4, "0123456789");
    if (m[4 + digits] == ':') return heap_printf("line %.*s:%s", (int)digits, m + 4, m + 5 + digits);
  }
  return heap_strdup(m);
}

int health_lua_new(const char *key, const char *text, size_t len, health_lua **out, char **err) {
  *out = NULL;
  *err = NULL;
  if (len > HEALTH_LUA_SCRIPT_MAX) {
    *err = heap_printf("the script is %zu KiB; health scripts may be at most %d KiB", (len + 1023) >> 10,
                       HEALTH_LUA_SCRIPT_MAX >> 10);
    return -1;
  }
  budget b = {.cap = HEALTH_LUA_MEMORY};
  lua_State *L = state_new(&b);
  if (!L) abort();
  /* Text only: bytecode from outside is not checked by Lua. */
  int rc = luaL_loadbufferx(L, text, len, "=lua", "t");
  if (rc != LUA_OK) {
    *err = words(L, rc, &b);
    lua_close(L);
    return -1;
  }
  buf code = {0};
  lua_dump(L, collect, &code, 0);
  lua_close(L);
  health_lua *s = heap_alloc(sizeof *s);
  *s = (health_lua){heap_strdup(key), code.data, code.len};
  *out = s;
  return 0;
}

void health_lua_free(health_lua *s) {
  if (!s) return;
  free(s->key);
  free(s->bytecode);
  free(s);
}

const char *health_lua_key(const health_lua *s) { return s->key; }

/* text as h's message: UTF-8, for the status's JSON, and cut to fit. */
static void said(health_status *h, const char *text) {
  char *t = heap_utf8(text, sizeof h->message - 1);
  snprintf(h->message, sizeof h->message, "%s", t);
  free(t);
}

static health_status unknown(const health_lua *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static health_status unknown(const health_lua *s, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *why = heap_vprintf(fmt, ap);
  va_end(ap);
  char *all = heap_printf("health script for %s: %s", s->key, why);
  health_status h = {HEALTH_UNKNOWN, ""};
  said(&h, all);
  free(all);
  free(why);
  return h;
}

static const char *const statuses[] = {"Healthy", "Suspended", "Progressing", "Missing", "Degraded", "Unknown"};

/* The health the table at the top of the stack gives, read raw: no
 * metamethod of the script's runs outside the chunk. */
static health_status verdict_of(lua_State *L, const health_lua *s) {
  if (lua_type(L, -1) != LUA_TTABLE)
    return unknown(s, "returned %s, not a table {status, message}", luaL_typename(L, -1));
  lua_pushstring(L, "status");
  lua_rawget(L, -2);
  lua_pushstring(L, "message");
  lua_rawget(L, -3);
  if (lua_type(L, -2) != LUA_TSTRING && !lua_isnil(L, -2))
    return unknown(s, "status must be a string, got %s", luaL_typename(L, -2));
  if (lua_type(L, -1) != LUA_TSTRING && !lua_isnil(L, -1))
    return unknown(s, "message must be a string, got %s", luaL_typename(L, -1));
  const char *status = lua_isnil(L, -2) ? "" : lua_tostring(L, -2);
  for (size_t i = 0; i < sizeof statuses / sizeof *statuses; i++)
    if (strcmp(status, statuses[i]) == 0) {
      health_status h = {(health_code)i, ""};
      if (!lua_isnil(L, -1)) said(&h, lua_tostring(L, -1));
      return h;
    }
  return unknown(s, "returned the status \"%.64s\", not Healthy, Progressing, Degraded, Suspended, Missing or Unknown",
                 status);
}

health_status health_lua_run(const health_lua *s, const json_t *obj) {
  budget b = {.cap = HEALTH_LUA_MEMORY};
  lua_State *L = state_new(&b);
  if (!L) return unknown(s, "no memory for a Lua state");
  health_status h;
  lua_pushcfunction(L, open_sandbox);
  int rc = lua_pcall(L, 0, 0, 0);
  if (rc == LUA_OK) {
    lua_pushcfunction(L, set_obj);
    lua_pushlightuserdata(L, (void *)obj);
    rc = lua_pcall(L, 1, 0, 0);
  }
  if (rc == LUA_OK) rc = luaL_loadbufferx(L, s->bytecode, s->len, "=lua", "b");
  if (rc == LUA_OK) {
    int base = lua_gettop(L) - 1;
    lua_sethook(L, count_hook, LUA_MASKCOUNT, HOOK_EVERY);
    rc = lua_pcall(L, 0, LUA_MULTRET, 0);
    lua_sethook(L, NULL, 0, 0);
    /* As Argo CD reads it: the last value returned, nil for none. */
    if (rc == LUA_OK && lua_gettop(L) == base) lua_pushnil(L);
  }
  if (rc == LUA_OK && b.stopped) rc = LUA_ERRRUN;
  /* What follows runs unprotected, where a refused allocation would abort:
   * the script is done, its bounds with it. */
  b.cap = (size_t)-1;
  if (rc != LUA_OK) {
    char *why = words(L, rc, &b);
    h = unknown(s, "%s", why);
    free(why);
  } else {
    h = verdict_of(L, s);
  }
  lua_close(L);
  return h;
}

/* ---- the runtime's scripts ---------------------------------------------------- */

static pthread_rwlock_t installed_lock = PTHREAD_RWLOCK_INITIALIZER;
static health_lua_rule *installed;
static size_t ninstalled;

void health_lua_install(const health_lua_rule *rules, size_t n) {
  health_lua_rule *copy = heap_alloc((n ? n : 1) * sizeof *copy);
  for (size_t i = 0; i < n; i++)
    copy[i] = (health_lua_rule){heap_strdup(rules[i].group), heap_strdup(rules[i].kind), rules[i].script};
  pthread_rwlock_wrlock(&installed_lock);
  health_lua_rule *old = installed;
  size_t nold = ninstalled;
  installed = copy;
  ninstalled = n;
  pthread_rwlock_unlock(&installed_lock);
  for (size_t i = 0; i < nold; i++) {
    free((char *)old[i].group);
    free((char *)old[i].kind);
    health_lua_free(old[i].script);
  }
  free(old);
}

/* The script for group and kind: one named exactly, else the first whose
 * patterns match, as Argo CD looks for an exact key before a wildcard. */
static const health_lua *script_for(const char *group, size_t glen, const char *kind) {
  for (size_t i = 0; i < ninstalled; i++)
    if (strlen(installed[i].group) == glen && strncmp(installed[i].group, group, glen) == 0 &&
        strcmp(installed[i].kind, kind) == 0)
      return installed[i].script;
  char g[256];
  snprintf(g, sizeof g, "%.*s", (int)glen, group);
  for (size_t i = 0; i < ninstalled; i++)
    if (fnmatch(installed[i].group, g, 0) == 0 && fnmatch(installed[i].kind, kind, 0) == 0)
      return installed[i].script;
  return NULL;
}

/* The group of "group/version", "" for "v1". */
static size_t group_of(const char *api_version, const char **group) {
  const char *slash = api_version ? strchr(api_version, '/') : NULL;
  *group = api_version ? api_version : "";
  return slash ? (size_t)(slash - api_version) : 0;
}

bool health_lua_covers(const char *api_version, const char *kind) {
  if (!kind) return false;
  const char *group;
  size_t glen = group_of(api_version, &group);
  pthread_rwlock_rdlock(&installed_lock);
  bool found = script_for(group, glen, kind) != NULL;
  pthread_rwlock_unlock(&installed_lock);
  return found;
}

bool health_lua_assess(const json_t *live, health_status *out) {
  const json_t *k = json_object_get(live, "kind"), *api = json_object_get(live, "apiVersion");
  if (!json_is_string(k)) return false;
  const char *group;
  size_t glen = group_of(json_string_value(api), &group);
  pthread_rwlock_rdlock(&installed_lock);
  const health_lua *s = script_for(group, glen, json_string_value(k));
  if (s) *out = health_lua_run(s, live);
  pthread_rwlock_unlock(&installed_lock);
  return s != NULL;
}

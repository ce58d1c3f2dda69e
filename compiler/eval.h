/* eval.h: the evaluator, which turns syntax trees into values.
 *
 * Modules are loaded (parsed, imports resolved) once per compile. Top-level
 * `let`s are evaluated on first use, so declarations may come in any order;
 * a `let` that needs itself is reported as a cycle. Statements of a template
 * or env block emit resources into a sink. */
#ifndef PLUMB_EVAL_H
#define PLUMB_EVAL_H

#include "ast.h"
#include "builtin.h"
#include "loader.h"
#include "plumb/value.h"

typedef struct module module;
typedef struct scope scope;

/* Where a block's statements go. Settings, `app` and `patch` are handed to
 * stmt, which an env's block and a template's each have: it takes what
 * its block may hold and refuses the rest. */
typedef struct sink sink;
struct sink {
  value *resources; /* list: what the block emitted, in order */
  bool (*stmt)(sink *s, eval *ev, module *m, scope *sc, const node *stmt);
  void *ctx;
};

/* Limits against hostile input; each has a clear error when crossed. */
enum {
  EVAL_MAX_DEPTH = 200,          /* nested template/fn calls */
  EVAL_MAX_NESTING = 2000,       /* nested expressions, calls included */
  EVAL_MAX_ITEMS = 1000000,      /* elements one comprehension or loop yields */
  EVAL_MAX_BYTES = 1 << 30,      /* memory a compile may use */
  EVAL_MAX_OUTPUT = 256 << 20,   /* bytes of resources an env may produce, as compact JSON */
  EVAL_MAX_STRING = 64 << 20,    /* bytes in one string */
  EVAL_MAX_RESOURCES = 100000,   /* resources one env may produce */
};

/* The evaluator of one compile; its values and messages live in a. */
eval *eval_new(arena *a, diag_list *d, loader *l);
/* What the compile reads files through. */
loader *eval_loader(eval *ev);
/* The options of the build, which built-ins that reach past the language
 * read (helm_chart: where helm is, the Kubernetes version); NULL where
 * there is no build (plumb eval). o must outlive ev. */
void eval_set_opts(eval *ev, const compile_opts *o);
const compile_opts *eval_opts(eval *ev);
/* What the compile keeps of each chart it rendered, for plumb explain
 * (helmvalues.h): the head of a list in ev's arena, NULL until a chart
 * renders. */
typedef struct helm_seen helm_seen;
helm_seen **eval_charts_seen(eval *ev);
/* The keys of files SOPS encrypted, as sops.c reads them on first use;
 * NULL until then, and after sops_end. */
typedef struct sops_ring sops_ring;
sops_ring **eval_sops_ring(eval *ev);
/* Frees the syntax trees of every module loaded: nothing may be loaded or
 * evaluated after, and names, kinds and types read from the trees must
 * have been copied. Called again, it does nothing. Until it is called the
 * trees take about a third of a build's memory. */
void eval_forget_syntax(eval *ev);

/* Loads a module by root-relative name (or "std/NAME"). `from` is the import
 * statement, for errors; NULL for an entry file. NULL on failure. */
module *eval_load(eval *ev, const char *name, const node *from);
node *module_ast(const module *m);
/* A module with no declarations: the scope of a lone expression. */
module *eval_empty_module(eval *ev, const char *name);
const char *module_name(const module *m);

/* The declaration a top-level name of m stands for (its own or imported):
 * N_LET, N_TEMPLATE, N_FN, or N_IMPORT for an alias; NULL if none. */
const node *eval_module_decl(const module *m, const char *name);
/* Every module loaded so far, most recent first. */
module *eval_modules(eval *ev);
module *module_next(const module *m);

/* The messages for a call that does not fit its template or fn `d`. */
void eval_report_bad_arg(eval *ev, const node *d, const node *arg);
void eval_report_positional_after_named(eval *ev, const node *arg);
void eval_report_missing_arg(eval *ev, const node *d, const node *call, const node *param);

/* Whether *v has the kind a parameter of type `type` takes; an int for a
 * float is converted (*v is then the float). */
bool eval_type_ok(eval *ev, const char *type, value **v);
/* Binds the parameters of d (a template, fn or env of module m) to args,
 * one slot each: a NULL slot takes the default, which sees the parameters
 * before it, and is set to it. *out is the scope binding them all. False
 * after reporting a bad default or a parameter with neither (at the call;
 * for an env, whose arguments come from outside, at the parameter). */
bool eval_bind_params(eval *ev, module *m, const node *d, value **args, const node *call, scope **out);
value *eval_expr(eval *ev, module *m, scope *sc, const node *e);
/* The env or component (kind N_ENV or N_COMPONENT) that call names, as an
 * env's `from` or `with` does (E_IDENT, an alias's E_FIELD, or one call of
 * either) from module m; *mod is its module, and *out its parameters bound
 * to call's arguments, evaluated in sc. NULL after reporting. */
const node *eval_layer(eval *ev, module *m, scope *sc, const node *call, int kind, module **mod, scope **out);
/* Runs a block's statements into s. False when an error was reported. */
bool eval_block(eval *ev, module *m, scope *sc, const node *block, sink *s);
/* Emits v (a resource or a list of them) into s; `at` is the statement. */
bool eval_emit(eval *ev, sink *s, value *v, pos at);
/* The text of a string literal without ${...} (an import's path, a
 * kustomization's directory); NULL after reporting at `at` that `what`
 * must be one. */
const char *eval_plain_string(eval *ev, const node *str, pos at, const char *what);

/* A new scope with one more binding. */
scope *scope_bind(eval *ev, scope *up, const char *name, value *v);

/* The evaluated `delete`-free resource object of `Kind name {body}`. */
bool eval_is_resource(const value *v);

#endif

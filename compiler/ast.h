/* ast.h: the syntax tree the parser builds and the evaluator walks.
 *
 * One node type serves every construct, as in chibicc: `kind` says which
 * fields mean what (see the table beside each kind). Nodes live in the
 * compile's arena. */
#ifndef PLUMB_AST_H
#define PLUMB_AST_H

#include <stdbool.h>
#include <stdint.h>

#include "plumb/arena.h"
#include "plumb/diag.h"

typedef struct node node;

typedef struct {
  node **items;
  size_t len, cap;
} node_list;

typedef enum {
  /* declarations */
  N_FILE,     /* list: declarations */
  N_IMPORT,   /* str: path; name: alias or NULL */
  N_LET,      /* name; a: value */
  N_TEMPLATE, /* name; list: params; b: block */
  N_FN,       /* name; list: params; a: body */
  N_ENV,      /* name; list: params (given by compile_opts.args); b: block; a: the env it builds
               * on (E_IDENT, an alias's E_FIELD, or one E_CALL of either), or NULL; c: the components
               * it uses (N_CLAUSE), or NULL */
  N_COMPONENT, /* as N_ENV, without a */
  N_CLAUSE,   /* name: "from" or "with"; list: what it names, as N_ENV's a */
  N_PARAM,    /* name; type; a: default or NULL */
  /* statements */
  N_BLOCK,   /* list: statements */
  N_SETTING, /* name; a: value (inside env) */
  N_APP,     /* name; a: value (inside env) */
  N_PATCH,   /* type: kind or NULL; a: name, or c: where() (E_CALL); b: body object or list */
  N_FOR,     /* name, name2: variables; a: iterable; b: block or NULL in a comprehension */
  N_IF,      /* a: condition; b: then-block; c: else-block or else-if, or NULL */
  N_EXPR,    /* a: expression whose resources are emitted */
  /* expressions */
  E_NULL,
  E_BOOL,     /* ival: 0 or 1 */
  E_INT,      /* ival */
  E_FLOAT,    /* fval */
  E_STRING,   /* list: E_TEXT and expression parts */
  E_TEXT,     /* str, len: literal text */
  E_IDENT,    /* name */
  E_LIST,     /* list: items; or, when b is set, b: element and list: clauses */
  E_OBJECT,   /* list: N_ENTRY and N_LET; or, when b is set, a: key, b: value, list: clauses */
  N_ENTRY,    /* a: key (E_STRING), b: value; op: OP_SET for ':=' */
  E_FIELD,    /* a: object; name */
  E_INDEX,    /* a: container; b: index */
  E_CALL,     /* a: callee; list: N_ARG */
  N_ARG,      /* name or NULL for positional; a: value */
  E_UNARY,    /* op: '-' or '!'; a */
  E_BINARY,   /* op; a, b */
  E_COND,     /* a: condition; b: then; c: else */
  E_RESOURCE, /* type: kind; a: name; b: body object */
  E_DELETE,   /* a: the list element's keys (an object), or NULL */
} node_kind;

/* Operators that are not single characters. */
enum { OP_EQ = 256, OP_NE, OP_LE, OP_GE, OP_AND, OP_OR, OP_SET };

struct node {
  node_kind kind;
  pos at;
  int op;
  const char *name, *name2, *type;
  const char *str;
  size_t len;
  int64_t ival;
  double fval;
  node *a, *b, *c;
  node_list list;
  struct value *constant; /* a literal's value, once evaluated (see eval.c) */
  bool keys_distinct;     /* an object whose keys are literal and were found distinct */
};

node *ast_new(arena *a, node_kind kind, pos at);
void ast_push(arena *a, node_list *l, node *n);

#endif

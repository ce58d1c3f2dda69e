/* parser.y: the Plumb grammar (docs/language.md has it in EBNF).
 *
 * The parser only builds the tree; names, types and kinds are checked by the
 * evaluator. Recovery points are declarations and statements, and a line
 * break ends a recovery, so one run reports every independent syntax error
 * of a file. Line breaks reach the grammar as NL tokens where they end
 * something (next_token below). */
%define api.pure full
%define parse.error custom
%locations
%param {void *scanner}
%parse-param {parse_state *ps}

%code requires {
#include "parse.h"
}

%union {
  int64_t ival;
  double fval;
  struct { const char *s; size_t len; } str;
  node *n;
}

%code {
#include <string.h>

#include "lexer.h"
#include "plumb/emit.h"
#include "suggest.h"

static pos P(parse_state *ps, YYLTYPE l) { return (pos){ps->file, l.first_line, l.first_column}; }
#define NEW(kind, loc) ast_new(ps->arena, kind, P(ps, loc))
static node *binary(parse_state *ps, YYLTYPE l, int op, node *a, node *b) {
  node *n = ast_new(ps->arena, E_BINARY, P(ps, l));
  n->op = op;
  n->a = a;
  n->b = b;
  return n;
}
/* The suffixes of a postfix expression (and of a named patch body):
 * x.name, x[i], f(args). */
static node *field_of(parse_state *ps, YYLTYPE l, node *x, const char *name) {
  node *n = ast_new(ps->arena, E_FIELD, P(ps, l));
  n->a = x;
  n->name = name;
  return n;
}
static node *index_of(parse_state *ps, YYLTYPE l, node *x, node *i) {
  node *n = ast_new(ps->arena, E_INDEX, P(ps, l));
  n->a = x;
  n->b = i;
  return n;
}
static node *call_of(parse_state *ps, node *f, node *args) {
  node *n = ast_new(ps->arena, E_CALL, f->at);
  n->a = f;
  n->list = args->list;
  return n;
}
/* env, app and patch are words only where they start a declaration or
 * statement, so they stay free as names (`env` is a container field). A
 * statement word misspelled is named (`lett x = 1`: 'let', not 'app'). */
static bool contextual(parse_state *ps, const char *want, const char *got, YYLTYPE l) {
  static const char *const words[] = {"app", "patch", "where", "env", "component", "let", "for", "if"};
  if (strcmp(want, got) == 0) return true;
  const char *near = nearest_word(got, words, sizeof words / sizeof words[0]);
  diag_error(ps->diags, P(ps, l), "unexpected name \"%s\"; did you mean '%s'?", got, near ? near : want);
  return false;
}
/* `env NAME [(PARAMS)] BLOCK` or `component NAME ...`; NULL when the first
 * word is neither. */
static node *env_decl(parse_state *ps, const char *word, YYLTYPE wl, const char *name, YYLTYPE nl, node *params,
                      node *body) {
  bool component = strcmp(word, "component") == 0;
  if (!component && !contextual(ps, "env", word, wl)) return NULL;
  node *n = NEW(component ? N_COMPONENT : N_ENV, nl);
  n->name = name;
  if (params) n->list = params->list;
  n->b = body;
  return n;
}
/* d (an env or component, NULL after an error) with its header's clauses:
 * an env's `from` first and once, with one env; `with` once, with the
 * components it uses, in order. */
static node *with_clauses(parse_state *ps, node *d, node *clauses) {
  if (!d) return NULL;
  for (size_t i = 0; i < clauses->list.len; i++) {
    node *c = clauses->list.items[i];
    bool from = strcmp(c->name, "from") == 0, with = strcmp(c->name, "with") == 0;
    const char *err = !from && !with ? "expected 'from' (env prod from staging { ... }) or 'with' (env prod with monitoring { ... })"
                      : from && d->kind == N_COMPONENT ? "a component builds on no env; it is used by one ('with')"
                      : from && (i > 0 || c->list.len > 1) ? "an env builds on one env, named first ('from')"
                      : with && d->c ? "components are listed once ('with a, b')"
                      : NULL;
    if (err) {
      diag_error(ps->diags, c->at, "unexpected name \"%s\"; %s", c->name, err);
      return NULL;
    }
    if (from) d->a = c->list.items[0];
    else d->c = c;
  }
  return d;
}
/* An `if` clause of a comprehension. */
static node *with_filter(parse_state *ps, node *clauses, YYLTYPE at, node *cond) {
  node *c = NEW(N_IF, at);
  c->a = cond;
  ast_push(ps->arena, &clauses->list, c);
  return clauses;
}
/* Escapes are marked (op 1): a text block's dedent never touches them. */
static void text_part(parse_state *ps, node *s, const char *text, size_t len, YYLTYPE l, bool escape) {
  node *t = ast_new(ps->arena, E_TEXT, P(ps, l));
  t->str = text;
  t->len = len;
  t->op = escape;
  ast_push(ps->arena, &s->list, t);
}
/* Where a newline ends a statement (as in Go and Kotlin): the scanner skips
 * white space, and this filter between it and the parser gives a line break
 * back as an NL token when the line's last token could end a statement (a
 * name, a literal, a closing bracket) and the next line's first token could
 * start one. Inside (...), strings and ${...} lines never end anything;
 * inside {...} and [...] an NL separates statements, entries and items as a
 * comma would. */
typedef struct {
  int tok;      /* '{', '[', '(', or a string's or interpolation's start */
  YYLTYPE at;
  int indent;   /* of the line it is on */
} bracket;

typedef struct {
  yyscan_t scanner;
  arena *arena;
  bracket *open; /* the brackets open, innermost last */
  int nopen, cap;
  int nopen_before; /* nopen before the last token passed on, which the
                     * parser may be reporting: its own bracket is not
                     * what it found open (entries past nopen stay as
                     * they were until the next token opens one) */
  bool expr;     /* a lone expression: lines end nothing at its top */
  int prev;      /* the last token passed on (IDENT for any word after '.') */
  YYLTYPE prev_at;
  int indent;    /* of the current line: its first token's column - 1 */
  const char *lead; /* the name a top-level line starts with, or NULL */
  YYLTYPE lead_at;
  /* The first bracket closed by a closer that starts a line indented
   * otherwise than the opener's line: where a file that ends with a
   * bracket open most likely lacks a closer. */
  bracket misfit;
  YYLTYPE misfit_closer;
  int held;      /* the token read past an NL, returned next; 0 if none */
  YYSTYPE held_val;
  YYLTYPE held_at;
} lines;

static bool ends_statement(int t) {
  return t == IDENT || t == KIND || t == INT || t == FLOAT || t == STR_END || t == TSTR_END || t == TRUE ||
         t == FALSE || t == NULL_ || t == DELETE || t == ')' || t == ']' || t == '}';
}
/* Tokens that cannot start a statement, an entry or an item continue the
 * line before: `.field`, a closing bracket, `then`, `else`, `for` (of a
 * comprehension), a binary operator that is not also a prefix one. */
static bool continues_line(int t) {
  return t == YYEOF || t == '.' || t == ')' || t == ']' || t == '}' || t == ',' || t == ':' || t == '=' ||
         t == COLON_EQ || t == THEN || t == ELSE || t == FOR || t == IN || t == AS || t == '+' || t == '*' ||
         t == '/' || t == '%' || t == '<' || t == '>' || t == EQ || t == NE || t == LE || t == GE || t == AND ||
         t == OR;
}
static bool is_bracket(int t) { return t == '(' || t == '[' || t == '{'; }

static void open_bracket(lines *s, int t, const YYLTYPE *at) {
  if (s->nopen == s->cap) {
    int cap = s->cap ? 2 * s->cap : 16;
    s->open = arena_grow(s->arena, s->open, (size_t)s->cap * sizeof *s->open, (size_t)cap * sizeof *s->open);
    s->cap = cap;
  }
  s->open[s->nopen++] = (bracket){t, *at, s->indent};
}

static void close_bracket(lines *s, const YYLTYPE *at, bool starts_line) {
  if (!s->nopen) return;
  bracket b = s->open[--s->nopen];
  if (is_bracket(b.tok) && starts_line && at->first_column - 1 != b.indent && !s->misfit.tok) {
    s->misfit = b;
    s->misfit_closer = *at;
  }
}

static int pass_on(lines *s, int t, const YYSTYPE *v, const YYLTYPE *at) {
  s->nopen_before = s->nopen;
  bool starts_line = at->first_line > s->prev_at.last_line;
  if (starts_line) s->indent = at->first_column - 1;
  if (starts_line && !s->nopen) {
    s->lead = t == IDENT ? v->str.s : NULL;
    s->lead_at = *at;
  }
  if (is_bracket(t) || t == STR_BEGIN || t == TSTR_BEGIN || t == INTERP_BEGIN) open_bracket(s, t, at);
  else if (t == ')' || t == ']' || t == '}' || t == STR_END || t == TSTR_END || t == INTERP_END)
    close_bracket(s, at, starts_line);
  s->prev = s->prev == '.' ? IDENT : t;
  s->prev_at = *at;
  return t;
}

/* Whether an NL at this point would separate anything. */
static bool lines_count(const lines *s) {
  if (!s->nopen) return !s->expr;
  int t = s->open[s->nopen - 1].tok;
  return t == '[' || t == '{';
}
static int next_token(YYSTYPE *v, YYLTYPE *at, void *p) {
  lines *s = p;
  if (s->held) {
    int t = s->held;
    s->held = 0;
    *v = s->held_val;
    *at = s->held_at;
    return pass_on(s, t, v, at);
  }
  int t = yylex(v, at, s->scanner);
  if (!lines_count(s) || at->first_line <= s->prev_at.last_line || !ends_statement(s->prev) || continues_line(t))
    return pass_on(s, t, v, at);
  s->held = t;
  s->held_val = *v;
  s->held_at = *at;
  /* The NL is where the line ends: errors about it point past its last token. */
  *at = (YYLTYPE){s->prev_at.last_line, s->prev_at.last_column, s->prev_at.last_line, s->prev_at.last_column};
  s->prev = NL;
  return NL;
}
#define yylex next_token

static void yyerror(YYLTYPE *l, void *scanner, parse_state *ps, const char *msg) {
  (void)scanner;
  diag_error(ps->diags, P(ps, *l), "%s", msg);
}
}

%token <str> IDENT "name" KIND "kind name" STR_TEXT "string text" STR_ESC "escape"
%token <ival> INT "integer"
%token <fval> FLOAT "number"
%token STR_BEGIN "'\"'" STR_END "end of string" TSTR_BEGIN "'\"\"\"'" TSTR_END "'\"\"\"' (end of text)"
%token INTERP_BEGIN "'${'" INTERP_END "'}' (end of interpolation)"
%token <str> IMPORT "'import'" AS "'as'" LET "'let'" TEMPLATE "'template'" FN "'fn'"
%token <str> FOR "'for'" IN "'in'" IF "'if'" THEN "'then'" ELSE "'else'"
%token <str> TRUE "'true'" FALSE "'false'" NULL_ "'null'" DELETE "'delete'"
%token COLON_EQ "':='"
%token EQ "'=='" NE "'!='" LE "'<='" GE "'>='" AND "'&&'" OR "'||'"
%token EXPR_START /* switches the parser to a lone expression (plumb eval) */
%token COMMENT "comment" /* only returned to plumb fmt */
%token NL "end of line"  /* made by next_token from a line break */

%type <n> decl import_decl stmt stmts block else_part expr postfix primary string parts
%type <n> list list_body exprs object obj_body obj_items obj_item key params param_list param
%type <n> args arg_list arg comp_for comp_clauses name_expr patch_body patch_ref env_base layer_name clauses clause
%type <str> name word word_kw

/* A statement that is an expression ends at an NL or where the expression
 * can go no further: on one line, `x [1]` indexes x. */
%precedence STMT
%precedence ELSE
%left OR
%left AND
%left EQ NE
%left '<' '>' LE GE
%left '+' '-'
%left '*' '/' '%'
%precedence UNARY
%precedence '[' '('
/* `delete {` is a deleted list element, even as an `if` condition. */
%precedence '{'
/* `name name ...` and `name Kind ...` start `app` and `patch` statements
 * (a lone name statement ends at its NL). */
%right IDENT KIND

%start top

%%

top
  : file
  | EXPR_START expr        { ps->root = $2; }
  ;

file
  : %empty                 { ps->root = NEW(N_FILE, @$); }
  | file decl              { if ($2) ast_push(ps->arena, &ps->root->list, $2); }
  | file NL                { yyerrok; } /* a line after an error is read afresh */
  ;

decl
  : import_decl
  | LET IDENT '=' expr     { $$ = NEW(N_LET, @2); $$->name = $2.s; $$->a = $4; }
  | TEMPLATE IDENT '(' params ')' block
                           { $$ = NEW(N_TEMPLATE, @2); $$->name = $2.s; $$->list = $4->list; $$->b = $6; }
  | FN IDENT '(' params ')' '=' expr
                           { $$ = NEW(N_FN, @2); $$->name = $2.s; $$->list = $4->list; $$->a = $7; }
  | IDENT IDENT block      { $$ = env_decl(ps, $1.s, @1, $2.s, @2, NULL, $3); }
  | IDENT IDENT '(' params ')' block
                           { $$ = env_decl(ps, $1.s, @1, $2.s, @2, $4, $6); }
  | IDENT IDENT clauses block
                           { $$ = with_clauses(ps, env_decl(ps, $1.s, @1, $2.s, @2, NULL, $4), $3); }
  | IDENT IDENT '(' params ')' clauses block
                           { $$ = with_clauses(ps, env_decl(ps, $1.s, @1, $2.s, @2, $4, $7), $6); }
  | error                  { $$ = NULL; }
  ;

/* `from BASE` and `with COMPONENT, ...` of an env or component header,
 * each an N_CLAUSE named by its word. */
clauses
  : clause                 { $$ = NEW(N_BLOCK, @1); ast_push(ps->arena, &$$->list, $1); }
  | clauses clause         { $$ = $1; ast_push(ps->arena, &$$->list, $2); }
  ;
clause
  : IDENT env_base         { $$ = NEW(N_CLAUSE, @1); $$->name = $1.s; ast_push(ps->arena, &$$->list, $2); }
  | clause ',' env_base    { $$ = $1; ast_push(ps->arena, &$$->list, $3); }
  ;
/* An env an env builds on, or a component it uses: `staging`,
 * `base.staging` (an import's alias), either with arguments for its
 * parameters; or the directory of a kustomization (a Component for
 * `with`), as a string. */
env_base
  : layer_name
  | layer_name '(' args ')' { $$ = call_of(ps, $1, $3); }
  | string
  ;
layer_name
  : IDENT                  { $$ = NEW(E_IDENT, @1); $$->name = $1.s; }
  | IDENT '.' IDENT        { node *a = NEW(E_IDENT, @1); a->name = $1.s; $$ = field_of(ps, @3, a, $3.s); }
  ;

import_decl
  : IMPORT string          { $$ = NEW(N_IMPORT, @2); $$->a = $2; }
  | IMPORT string AS IDENT { $$ = NEW(N_IMPORT, @2); $$->a = $2; $$->name = $4.s; }
  ;

params
  : %empty                 { $$ = NEW(N_BLOCK, @$); }
  | param_list opt_comma
  ;
param_list
  : param                  { $$ = NEW(N_BLOCK, @1); ast_push(ps->arena, &$$->list, $1); }
  | param_list ',' param   { $$ = $1; ast_push(ps->arena, &$$->list, $3); }
  ;
param
  : IDENT ':' IDENT        { $$ = NEW(N_PARAM, @1); $$->name = $1.s; $$->type = $3.s; }
  | IDENT ':' IDENT '=' expr
                           { $$ = NEW(N_PARAM, @1); $$->name = $1.s; $$->type = $3.s; $$->a = $5; }
  ;
opt_comma: %empty | ',' ;

block
  : '{' stmts '}'          { $$ = $2; }
  ;
stmts
  : %empty                 { $$ = NEW(N_BLOCK, @$); }
  | stmts stmt             { $$ = $1; if ($2) ast_push(ps->arena, &$$->list, $2); }
  | stmts NL               { yyerrok; }
  ;
stmt
  : LET IDENT '=' expr %prec STMT
                           { $$ = NEW(N_LET, @2); $$->name = $2.s; $$->a = $4; }
  | IDENT ':' expr %prec STMT
                           { $$ = NEW(N_SETTING, @1); $$->name = $1.s; $$->a = $3; }
  | IDENT IDENT '=' expr %prec STMT
                           { $$ = contextual(ps, "app", $1.s, @1) ? NEW(N_APP, @2) : NULL;
                             if ($$) { $$->name = $2.s; $$->a = $4; } }
  | IDENT KIND name_expr patch_body
                           { $$ = contextual(ps, "patch", $1.s, @1) ? NEW(N_PATCH, @1) : NULL;
                             if ($$) { $$->type = $2.s; $$->a = $3; $$->b = $4; } }
  | IDENT KIND IDENT '(' args ')' patch_body
                           { $$ = contextual(ps, "patch", $1.s, @1) && contextual(ps, "where", $3.s, @3)
                                    ? NEW(N_PATCH, @1) : NULL;
                             if ($$) { $$->type = $2.s; $$->c = $5; $$->c->at = P(ps, @3); $$->b = $7; } }
  | IDENT IDENT '(' args ')' patch_body
                           { $$ = contextual(ps, "patch", $1.s, @1) && contextual(ps, "where", $2.s, @2)
                                    ? NEW(N_PATCH, @1) : NULL;
                             if ($$) { $$->c = $4; $$->c->at = P(ps, @2); $$->b = $6; } }
  | comp_for block         { $$ = $1; $$->b = $2; }
  | IF expr block else_part
                           { $$ = NEW(N_IF, @1); $$->a = $2; $$->b = $3; $$->c = $4; }
  | expr %prec STMT        { $$ = NEW(N_EXPR, @1); $$->a = $1; }
  | error                  { $$ = NULL; }
  ;
/* An object is merged in; a list holds JSON patch operations. Either is
 * written out, or named (`patch Deployment "web" from_yaml(file("p.yaml"))`,
 * `patch Deployment "web" ops`): a name, then fields, items and calls. */
patch_body : object | list | patch_ref %prec STMT ;
patch_ref
  : IDENT                  { $$ = NEW(E_IDENT, @1); $$->name = $1.s; }
  | patch_ref '.' name     { $$ = field_of(ps, @3, $1, $3.s); }
  | patch_ref '[' expr ']' { $$ = index_of(ps, @2, $1, $3); }
  | patch_ref '(' args ')' { $$ = call_of(ps, $1, $3); }
  ;

else_part
  : %empty                 { $$ = NULL; }
  | ELSE block             { $$ = $2; }
  | ELSE IF expr block else_part
                           { $$ = NEW(N_IF, @2); $$->a = $3; $$->b = $4; $$->c = $5; }
  ;

expr
  : IF expr THEN expr ELSE expr
                           { $$ = NEW(E_COND, @1); $$->a = $2; $$->b = $4; $$->c = $6; }
  | expr OR expr           { $$ = binary(ps, @2, OP_OR, $1, $3); }
  | expr AND expr          { $$ = binary(ps, @2, OP_AND, $1, $3); }
  | expr EQ expr           { $$ = binary(ps, @2, OP_EQ, $1, $3); }
  | expr NE expr           { $$ = binary(ps, @2, OP_NE, $1, $3); }
  | expr '<' expr          { $$ = binary(ps, @2, '<', $1, $3); }
  | expr '>' expr          { $$ = binary(ps, @2, '>', $1, $3); }
  | expr LE expr           { $$ = binary(ps, @2, OP_LE, $1, $3); }
  | expr GE expr           { $$ = binary(ps, @2, OP_GE, $1, $3); }
  | expr '+' expr          { $$ = binary(ps, @2, '+', $1, $3); }
  | expr '-' expr          { $$ = binary(ps, @2, '-', $1, $3); }
  | expr '*' expr          { $$ = binary(ps, @2, '*', $1, $3); }
  | expr '/' expr          { $$ = binary(ps, @2, '/', $1, $3); }
  | expr '%' expr          { $$ = binary(ps, @2, '%', $1, $3); }
  | '-' expr %prec UNARY   { $$ = NEW(E_UNARY, @1); $$->op = '-'; $$->a = $2; }
  | '!' expr %prec UNARY   { $$ = NEW(E_UNARY, @1); $$->op = '!'; $$->a = $2; }
  | postfix %prec STMT
  ;

postfix
  : primary
  | postfix '.' name       { $$ = field_of(ps, @3, $1, $3.s); }
  | postfix '[' expr ']'   { $$ = index_of(ps, @2, $1, $3); }
  | postfix '(' args ')'   { $$ = call_of(ps, $1, $3); }
  ;

primary
  : INT                    { $$ = NEW(E_INT, @1); $$->ival = $1; }
  | FLOAT                  { $$ = NEW(E_FLOAT, @1); $$->fval = $1; }
  | TRUE                   { $$ = NEW(E_BOOL, @1); $$->ival = 1; }
  | FALSE                  { $$ = NEW(E_BOOL, @1); $$->ival = 0; }
  | NULL_                  { $$ = NEW(E_NULL, @1); }
  | DELETE %prec STMT      { $$ = NEW(E_DELETE, @1); }
  | DELETE object          { $$ = NEW(E_DELETE, @1); $$->a = $2; }
  | IDENT                  { $$ = NEW(E_IDENT, @1); $$->name = $1.s; }
  | string
  | list
  | object
  | '(' expr ')'           { $$ = $2; }
  | KIND name_expr object  { $$ = NEW(E_RESOURCE, @1); $$->type = $1.s; $$->a = $2; $$->b = $3; }
  ;

/* A resource's name: a string, a variable or a parenthesised expression. */
name_expr
  : string
  | IDENT                  { $$ = NEW(E_IDENT, @1); $$->name = $1.s; }
  | '(' expr ')'           { $$ = $2; }
  ;

string
  : STR_BEGIN parts STR_END     { $$ = $2; $$->at = P(ps, @1); }
  | TSTR_BEGIN parts TSTR_END   { $$ = $2; $$->at = P(ps, @1); $$->op = 1; }
  ;
parts
  : %empty                 { $$ = NEW(E_STRING, @$); }
  | parts STR_TEXT         { $$ = $1; text_part(ps, $$, $2.s, $2.len, @2, false); }
  | parts STR_ESC          { $$ = $1; text_part(ps, $$, $2.s, $2.len, @2, true); }
  | parts INTERP_BEGIN expr INTERP_END
                           { $$ = $1; ast_push(ps->arena, &$$->list, $3); }
  ;

list
  : '[' list_body ']'      { $$ = $2; $$->at = P(ps, @1); }
  ;
list_body
  : %empty                 { $$ = NEW(E_LIST, @$); }
  | exprs opt_comma
  | expr comp_clauses      { $$ = NEW(E_LIST, @1); $$->b = $1; $$->list = $2->list; }
  ;
exprs
  : expr                   { $$ = NEW(E_LIST, @1); ast_push(ps->arena, &$$->list, $1); }
  | exprs ',' expr         { $$ = $1; ast_push(ps->arena, &$$->list, $3); }
  | exprs NL expr          { $$ = $1; ast_push(ps->arena, &$$->list, $3); }
  ;

object
  : '{' obj_body '}'       { $$ = $2; $$->at = P(ps, @1); }
  ;
obj_body
  : %empty                 { $$ = NEW(E_OBJECT, @$); }
  | obj_items
  | key ':' expr comp_clauses
                           { $$ = NEW(E_OBJECT, @1); $$->a = $1; $$->b = $3; $$->list = $4->list; }
  ;
obj_items
  : obj_item               { $$ = NEW(E_OBJECT, @1); ast_push(ps->arena, &$$->list, $1); }
  | obj_items obj_item     { $$ = $1; ast_push(ps->arena, &$$->list, $2); }
  | obj_items ','          { $$ = $1; }
  | obj_items NL           { $$ = $1; }
  ;
obj_item
  : key ':' expr           { $$ = NEW(N_ENTRY, @1); $$->a = $1; $$->b = $3; }
  | key COLON_EQ expr      { $$ = NEW(N_ENTRY, @1); $$->a = $1; $$->b = $3; $$->op = OP_SET; }
  | LET IDENT '=' expr     { $$ = NEW(N_LET, @2); $$->name = $2.s; $$->a = $4; }
  ;
key
  : string
  | word                   {
      $$ = NEW(E_STRING, @1);
      node *t = NEW(E_TEXT, @1);
      t->str = $1.s;
      t->len = $1.len;
      ast_push(ps->arena, &$$->list, t);
    }
  ;

comp_for
  : FOR IDENT IN expr      { $$ = NEW(N_FOR, @1); $$->name = $2.s; $$->a = $4; }
  | FOR IDENT ',' IDENT IN expr
                           { $$ = NEW(N_FOR, @1); $$->name = $2.s; $$->name2 = $4.s; $$->a = $6; }
  ;
comp_clauses
  : comp_for               { $$ = NEW(N_BLOCK, @1); ast_push(ps->arena, &$$->list, $1); }
  | comp_clauses comp_for  { $$ = $1; ast_push(ps->arena, &$$->list, $2); }
  | comp_clauses IF expr   { $$ = with_filter(ps, $1, @2, $3); }
  | comp_clauses NL IF expr
                           { $$ = with_filter(ps, $1, @3, $4); }
  ;

args
  : %empty                 { $$ = NEW(E_CALL, @$); }
  | arg_list opt_comma
  ;
arg_list
  : arg                    { $$ = NEW(E_CALL, @1); ast_push(ps->arena, &$$->list, $1); }
  | arg_list ',' arg       { $$ = $1; ast_push(ps->arena, &$$->list, $3); }
  ;
arg
  : expr                   { $$ = NEW(N_ARG, @1); $$->a = $1; }
  | IDENT ':' expr         { $$ = NEW(N_ARG, @1); $$->name = $1.s; $$->a = $3; }
  ;

/* Field names may be keywords: Kubernetes has fields called `env`. */
name : IDENT | KIND | word_kw ;
word : IDENT | KIND | word_kw ;
word_kw
  : IMPORT | AS | LET | TEMPLATE | FN | IN | THEN | ELSE
  | TRUE | FALSE | NULL_ | DELETE
  ;

%%

static bool starts_expression(yysymbol_kind_t t) {
  static const int tokens[] = {IDENT, KIND, INT, FLOAT, STR_BEGIN, TSTR_BEGIN, TRUE, FALSE, NULL_, DELETE, IF,
                               '[', '{', '(', '-', '!'};
  for (size_t i = 0; i < sizeof tokens / sizeof tokens[0]; i++)
    if (t == YYTRANSLATE(tokens[i])) return true;
  return false;
}

/* "expected X, Y or Z, found W": the expected set comes from the parser's
 * tables, so it is right for every state. Where an expression may start, the
 * dozen tokens that can start one are summed up as "an expression". Where
 * only the closing bracket of a list or call may come but an item came, the
 * comma between them is what is missing. */
/* A file that ends with a bracket open is reported at the bracket, not at
 * its end: at the one whose closer was indented as an outer line's, if a
 * bracket of that sort is open, else at the innermost. */
static const bracket *likely_unclosed(const lines *s) {
  int i = s->nopen_before - 1;
  while (i >= 0 && !is_bracket(s->open[i].tok)) i--;
  if (i < 0) return NULL;
  return s->misfit.tok == s->open[i].tok ? &s->misfit : &s->open[i];
}

static char closer_of(int open) { return open == '{' ? '}' : open == '[' ? ']' : ')'; }

static bool report_unclosed(const lines *s, parse_state *ps) {
  const bracket *b = likely_unclosed(s);
  if (!b) return false;
  char close = closer_of(b->tok);
  diag_error(ps->diags, P(ps, b->at), "'%c' is not closed before the end of the file", b->tok);
  if (b == &s->misfit)
    diag_note(ps->diags, P(ps, s->misfit_closer),
              "this '%c' is taken as its closer, but is indented as an outer line's: is a '%c' missing above it?",
              close, close);
  return true;
}

/* A line at the left margin starts a declaration: a syntax error on it
 * while a bracket of an earlier line is open most likely comes of that
 * bracket's missing closer. (An NL found is at the end of the line
 * before.) */
static void note_unclosed(const lines *s, parse_state *ps, const YYLTYPE *at, yysymbol_kind_t found) {
  const bracket *b = likely_unclosed(s);
  if (b && found != YYSYMBOL_NL && s->indent == 0 && b->at.first_line < at->first_line)
    diag_note(ps->diags, P(ps, b->at), "this '%c' is still open at line %d: is its '%c' missing?", b->tok,
              at->first_line, closer_of(b->tok));
}

/* A top-level line that starts with a name and fails on that line is a
 * declaration whose first word is wrong: `improt`, `lett`, `include`. */
static bool report_lead(const lines *s, parse_state *ps, const YYLTYPE *at) {
  static const char *const words[] = {"import", "let", "fn", "template", "env"};
  static const struct { const char *word, *means; } others[] = {
    {"include", "import"}, {"require", "import"}, {"use", "import"}, {"from", "import"},
    {"var", "let"}, {"val", "let"}, {"const", "let"}, {"def", "fn"}, {"fun", "fn"}, {"func", "fn"},
    {"function", "fn"},
  };
  if (!s->lead || strcmp(s->lead, "env") == 0 || at->first_line != s->lead_at.first_line) return false;
  const char *near = nearest_word(s->lead, words, sizeof words / sizeof words[0]);
  for (size_t i = 0; !near && i < sizeof others / sizeof others[0]; i++)
    if (strcmp(others[i].word, s->lead) == 0) near = others[i].means;
  if (near)
    diag_error(ps->diags, P(ps, s->lead_at), "unexpected name \"%s\" at the start of a declaration; did you mean '%s'?",
               s->lead, near);
  else
    diag_error(ps->diags, P(ps, s->lead_at),
               "expected a declaration (import, let, fn, template or env), found name \"%s\"", s->lead);
  return true;
}

static int yyreport_syntax_error(const yypcontext_t *ctx, void *scanner, parse_state *ps) {
  if (yypcontext_token(ctx) == YYSYMBOL_YYEOF && report_unclosed(scanner, ps)) return 0;
  if (report_lead(scanner, ps, yypcontext_location(ctx))) return 0;
  yysymbol_kind_t exp[YYNTOKENS];
  int n = yypcontext_expected_tokens(ctx, exp, YYNTOKENS);
  bool expr = false;
  for (int i = 0; i < n; i++) expr |= exp[i] == YYSYMBOL_INT;
  buf msg = {0};
  int shown = 0;
  if (expr) buf_puts(&msg, "expected an expression"), shown = 1;
  for (int i = 0; i < n && !expr && shown < 6; i++) {
    if (exp[i] == YYSYMBOL_YYerror) continue;
    buf_printf(&msg, "%s%s", shown ? ", " : "expected ", yysymbol_name(exp[i]));
    shown++;
  }
  yysymbol_kind_t found = yypcontext_token(ctx);
  buf_printf(&msg, "%sfound %s", shown ? ", " : "", yysymbol_name(found));
  bool closer = n == 1 && (exp[0] == YYTRANSLATE(']') || exp[0] == YYTRANSLATE(')'));
  if (closer && starts_expression(found)) buf_puts(&msg, "; is a ',' missing before it?");
  diag_error(ps->diags, P(ps, *yypcontext_location(ctx)), "%s", msg.data);
  buf_free(&msg);
  note_unclosed(scanner, ps, yypcontext_location(ctx), found);
  return 0;
}

/* Strings carry source bytes to the output, which holds UTF-8 text only:
 * a byte that is not is an error where it is, not a U+FFFD later. */
static bool utf8_source(diag_list *d, const char *file, const char *text, size_t len) {
  size_t valid = emit_utf8_prefix(text, len);
  if (valid == len) return true;
  diag_error(d, diag_pos_of(file, text, valid), "invalid UTF-8 (byte 0x%02X); a source file must be UTF-8 text",
             (unsigned char)text[valid]);
  return false;
}

static node *run(arena *a, diag_list *d, const char *file, const char *text, size_t len, bool expr) {
  if (!utf8_source(d, file, text, len)) return ast_new(a, expr ? E_NULL : N_FILE, (pos){file, 1, 1});
  parse_state ps = {.arena = a, .diags = d, .file = file, .line = 1, .col = 1};
  lines s = {.arena = a, .expr = expr};
  yylex_init_extra(&ps, &s.scanner);
  YY_BUFFER_STATE b = yy_scan_bytes(text, (int)len, s.scanner);
  if (expr) ps.start = EXPR_START; /* steers the grammar to a lone expression */
  yyparse(&s, &ps);
  yy_delete_buffer(b, s.scanner);
  yylex_destroy(s.scanner);
  if (!ps.root) ps.root = ast_new(a, expr ? E_NULL : N_FILE, (pos){file, 1, 1});
  return ps.root;
}

node *parse_file(arena *a, diag_list *d, const char *file, const char *text, size_t len) {
  return run(a, d, file, text, len, false);
}

node *parse_expr(arena *a, diag_list *d, const char *file, const char *text, size_t len) {
  return run(a, d, file, text, len, true);
}

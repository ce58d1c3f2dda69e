/* fmt.h: the canonical layout of Plumb source (fmt.c), for `plumb fmt`
 * and for what `plumb convert` writes. */
#ifndef PLUMB_FMT_H
#define PLUMB_FMT_H

#include "plumb/cli.h"
#include "plumb/diag.h"

/* Appends text (the file name) laid out canonically to out. Returns 0, or
 * -1 after adding to d why it does not lex (fmt never rewrites a file it
 * cannot read back). */
int fmt_source(const char *name, const char *text, size_t len, buf *out, diag_list *d);

/* plumb fmt [--check] PATH... */
int fmt_main(const cli_command *cmd, int argc, char **argv);

/* plumb convert DIR (convert.c) */
int convert_main(const cli_command *cmd, int argc, char **argv);

#endif

/* check.h: static checks over every loaded module, before evaluation.
 *
 * Evaluation only visits code an env reaches; these checks cover the rest,
 * so a typo in a template no env uses yet is still caught by `plumb check`:
 * unknown names, and calls of a template or fn by name with an unknown,
 * repeated or missing argument. */
#ifndef PLUMB_CHECK_H
#define PLUMB_CHECK_H

#include "eval.h"

/* Reports into the compile's diagnostics; false if anything was wrong. */
bool check_modules(eval *ev);

#endif

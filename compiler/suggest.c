/* suggest.c: see suggest.h. */
#include "suggest.h"

#include <string.h>

#include "parse.h"

extern const struct { const char *name; const char *text; } stdlib_files[];

static unsigned min3(unsigned x, unsigned y, unsigned z) {
  unsigned m = x < y ? x : y;
  return m < z ? m : z;
}

/* Rows of the table kept: the one before last is for transpositions. */
unsigned edit_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 64 || lb > 64) return 99;
  unsigned rows[3][65], *before = rows[0], *last = rows[1], *row = rows[2];
  for (size_t j = 0; j <= lb; j++) last[j] = (unsigned)j;
  for (size_t i = 1; i <= la; i++) {
    row[0] = (unsigned)i;
    for (size_t j = 1; j <= lb; j++) {
      row[j] = min3(last[j - 1] + (a[i - 1] != b[j - 1]), last[j] + 1, row[j - 1] + 1);
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && before[j - 2] + 1 < row[j])
        row[j] = before[j - 2] + 1;
    }
    unsigned *t = before;
    before = last;
    last = row;
    row = t;
  }
  return last[lb];
}

const char *nearest_word(const char *name, const char *const *words, size_t n) {
  const char *best = NULL;
  unsigned bd = strlen(name) > 4 ? 2 : 1;
  for (size_t i = 0; i < n; i++) {
    unsigned d = edit_distance(words[i], name);
    if (d < bd || (!best && d <= bd)) best = words[i], bd = d;
  }
  return best;
}

static bool declares(const node *file, const char *name) {
  for (size_t i = 0; i < file->list.len; i++) {
    const node *d = file->list.items[i];
    if ((d->kind == N_LET || d->kind == N_FN || d->kind == N_TEMPLATE) && strcmp(d->name, name) == 0) return true;
  }
  return false;
}

const char *stdlib_declaring(const char *name) {
  const char *found = NULL;
  for (int i = 0; !found && stdlib_files[i].name; i++) {
    arena *a = arena_new();
    diag_list d;
    diag_init(&d, a);
    const char *text = stdlib_files[i].text;
    if (declares(parse_file(a, &d, stdlib_files[i].name, text, strlen(text)), name)) found = stdlib_files[i].name;
    arena_free(a);
  }
  return found;
}

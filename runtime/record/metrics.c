/* metrics.c: a registry of metric families behind one lock.
 *
 * Updates are a lookup and an addition, rendering is rare (a scrape every
 * few seconds): one mutex for the whole registry costs nothing that
 * matters and keeps a scrape consistent. Names, label values and series
 * live in the registry's arena, as long as the registry does; families and
 * series are kept sorted as they are added, so rendering only walks them. */
#include "plumb/metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plumb/arena.h"

typedef enum { COUNTER, GAUGE, HISTOGRAM } family_type;

static const char *const type_names[] = {"counter", "gauge", "histogram"};

typedef struct {
  const char **values;
  double value;      /* a counter's or gauge's; a histogram's sum */
  uint64_t *buckets; /* a histogram's: observations per bucket, not cumulative */
  uint64_t count;
} series;

struct metrics_family {
  metrics *owner;
  const char *name, *help;
  family_type type;
  const char **labels;
  size_t nlabels;
  double *bounds;
  size_t nbounds;
  series **series;
  size_t nseries, cap;
};

struct metrics {
  pthread_mutex_t lock;
  arena *a;
  metrics_family **families;
  size_t nfamilies, cap;
};

metrics *metrics_new(void) {
  metrics *m = heap_calloc(1, sizeof *m);
  pthread_mutex_init(&m->lock, NULL);
  m->a = arena_new();
  return m;
}

void metrics_free(metrics *m) {
  if (!m) return;
  pthread_mutex_destroy(&m->lock);
  arena_free(m->a);
  free(m);
}

/* Makes room for one more pointer in an arena-backed array. */
static void *reserve(arena *a, void *items, size_t n, size_t *cap) {
  if (n < *cap) return items;
  size_t grown = *cap ? *cap * 2 : 8;
  items = arena_grow(a, items, *cap * sizeof(void *), grown * sizeof(void *));
  *cap = grown;
  return items;
}

static void insert_at(void **items, size_t *n, size_t at, void *item) {
  memmove(items + at + 1, items + at, (*n - at) * sizeof *items);
  items[at] = item;
  (*n)++;
}

static size_t count_labels(const char *const *labels) {
  size_t n = 0;
  while (labels && labels[n]) n++;
  return n;
}

static bool same_shape(const metrics_family *f, family_type type, const char *const *labels, size_t nbounds) {
  if (f->type != type || f->nlabels != count_labels(labels) || f->nbounds != nbounds) return false;
  for (size_t i = 0; i < f->nlabels; i++)
    if (strcmp(f->labels[i], labels[i]) != 0) return false;
  return true;
}

static series *series_new(metrics_family *f, const char *const *values) {
  arena *a = f->owner->a;
  series *s = arena_alloc(a, sizeof *s);
  s->values = arena_alloc(a, (f->nlabels + 1) * sizeof *s->values);
  for (size_t i = 0; i < f->nlabels; i++) s->values[i] = arena_strdup(a, values[i] ? values[i] : "");
  if (f->type == HISTOGRAM) s->buckets = arena_alloc(a, (f->nbounds + 1) * sizeof *s->buckets);
  return s;
}

/* Where the series with these values is, or would go: *found says which. */
static size_t series_slot(const metrics_family *f, const char *const *values, bool *found) {
  size_t lo = 0, hi = f->nseries;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    int cmp = 0;
    for (size_t i = 0; i < f->nlabels && !cmp; i++) cmp = strcmp(f->series[mid]->values[i], values[i] ? values[i] : "");
    if (cmp == 0) {
      *found = true;
      return mid;
    }
    if (cmp < 0) lo = mid + 1;
    else hi = mid;
  }
  *found = false;
  return lo;
}

/* The series for values, created on first use; under the lock. */
static series *series_of(metrics_family *f, const char *const *values) {
  bool found;
  size_t at = series_slot(f, values, &found);
  if (found) return f->series[at];
  f->series = reserve(f->owner->a, f->series, f->nseries, &f->cap);
  series *s = series_new(f, values);
  insert_at((void **)f->series, &f->nseries, at, s);
  return s;
}

/* Prometheus' grammar: [a-zA-Z_:][a-zA-Z0-9_:]* for metric names, the same
 * without colons for label names. */
static bool valid_name(const char *s, bool colon) {
  const char *first = colon ? "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_:"
                            : "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_";
  if (!*s || !strchr(first, *s)) return false;
  for (s++; *s; s++)
    if (!strchr(first, *s) && !(*s >= '0' && *s <= '9')) return false;
  return true;
}

/* le is the histograms' own label; __ names are Prometheus' own. */
static bool valid_shape(family_type type, const char *name, const char *const *labels, const double *bounds,
                        size_t nbounds) {
  if (!valid_name(name, true)) return false;
  for (size_t i = 0; labels && labels[i]; i++)
    if (!valid_name(labels[i], false) || strncmp(labels[i], "__", 2) == 0 ||
        (type == HISTOGRAM && strcmp(labels[i], "le") == 0))
      return false;
  for (size_t i = 1; i < nbounds; i++)
    if (!(bounds[i] > bounds[i - 1])) return false;
  return true;
}

static metrics_family *declare(metrics *m, family_type type, const char *name, const char *help,
                               const char *const *labels, const double *bounds, size_t nbounds) {
  if (!valid_shape(type, name, labels, bounds, nbounds)) return NULL;
  pthread_mutex_lock(&m->lock);
  size_t at = 0;
  while (at < m->nfamilies && strcmp(m->families[at]->name, name) < 0) at++;
  metrics_family *f = NULL;
  if (at < m->nfamilies && strcmp(m->families[at]->name, name) == 0) {
    f = same_shape(m->families[at], type, labels, nbounds) ? m->families[at] : NULL;
  } else {
    f = arena_alloc(m->a, sizeof *f);
    *f = (metrics_family){.owner = m, .type = type, .nlabels = count_labels(labels), .nbounds = nbounds};
    f->name = arena_strdup(m->a, name);
    f->help = arena_strdup(m->a, help);
    f->labels = arena_alloc(m->a, (f->nlabels + 1) * sizeof *f->labels);
    for (size_t i = 0; i < f->nlabels; i++) f->labels[i] = arena_strdup(m->a, labels[i]);
    f->bounds = arena_alloc(m->a, (nbounds + 1) * sizeof *f->bounds);
    if (nbounds) memcpy(f->bounds, bounds, nbounds * sizeof *bounds);
    m->families = reserve(m->a, m->families, m->nfamilies, &m->cap);
    insert_at((void **)m->families, &m->nfamilies, at, f);
    if (!f->nlabels) series_of(f, NULL);
  }
  pthread_mutex_unlock(&m->lock);
  return f;
}

metrics_family *metrics_counter(metrics *m, const char *name, const char *help, const char *const *labels) {
  return declare(m, COUNTER, name, help, labels, NULL, 0);
}

metrics_family *metrics_gauge(metrics *m, const char *name, const char *help, const char *const *labels) {
  return declare(m, GAUGE, name, help, labels, NULL, 0);
}

metrics_family *metrics_histogram(metrics *m, const char *name, const char *help, const char *const *labels,
                                  const double *bounds, size_t nbounds) {
  return declare(m, HISTOGRAM, name, help, labels, bounds, nbounds);
}

static void update(metrics_family *f, const char *const *values, family_type type, double v) {
  if (!f || f->type != type) return;
  pthread_mutex_lock(&f->owner->lock);
  series *s = series_of(f, values);
  if (type == GAUGE) {
    s->value = v;
  } else if (type == COUNTER) {
    if (v > 0) s->value += v;
  } else {
    size_t b = 0;
    while (b < f->nbounds && v > f->bounds[b]) b++;
    s->buckets[b]++;
    s->count++;
    s->value += v;
  }
  pthread_mutex_unlock(&f->owner->lock);
}

void metrics_add(metrics_family *f, const char *const *values, double amount) { update(f, values, COUNTER, amount); }

void metrics_set(metrics_family *f, const char *const *values, double value) { update(f, values, GAUGE, value); }

void metrics_observe(metrics_family *f, const char *const *values, double value) {
  update(f, values, HISTOGRAM, value);
}

/* As Prometheus' own clients print numbers: integers without a point, the
 * rest in the fewest digits that read back the same. */
static void put_number(buf *b, double v) {
  char text[32];
  if (isnan(v))
    snprintf(text, sizeof text, "NaN");
  else if (isinf(v))
    snprintf(text, sizeof text, "%sInf", v > 0 ? "+" : "-");
  else if (v == floor(v) && fabs(v) < 1e15)
    snprintf(text, sizeof text, "%.0f", v);
  else
    for (int digits = 15; digits <= 17; digits++) {
      snprintf(text, sizeof text, "%.*g", digits, v);
      if (strtod(text, NULL) == v) break;
    }
  buf_puts(b, text);
}

/* Backslash and newline escaped, and in label values the double quote. */
static void put_escaped(buf *b, const char *s, bool quote) {
  for (; *s; s++) {
    if (*s == '\\') buf_puts(b, "\\\\");
    else if (*s == '\n') buf_puts(b, "\\n");
    else if (*s == '"' && quote) buf_puts(b, "\\\"");
    else buf_putc(b, *s);
  }
}

/* name{label="value",...,le="bound"} value */
static void put_sample(buf *b, const metrics_family *f, const char *suffix, const series *s, const double *le,
                       double value) {
  buf_printf(b, "%s%s", f->name, suffix);
  if (f->nlabels || le) buf_putc(b, '{');
  for (size_t i = 0; i < f->nlabels; i++) {
    buf_printf(b, "%s%s=\"", i ? "," : "", f->labels[i]);
    put_escaped(b, s->values[i], true);
    buf_putc(b, '"');
  }
  if (le) {
    buf_printf(b, "%sle=\"", f->nlabels ? "," : "");
    put_number(b, *le);
    buf_putc(b, '"');
  }
  if (f->nlabels || le) buf_putc(b, '}');
  buf_putc(b, ' ');
  put_number(b, value);
  buf_putc(b, '\n');
}

static void put_histogram(buf *b, const metrics_family *f, const series *s) {
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= f->nbounds; i++) {
    double le = i < f->nbounds ? f->bounds[i] : INFINITY;
    cumulative += s->buckets[i];
    put_sample(b, f, "_bucket", s, &le, (double)cumulative);
  }
  put_sample(b, f, "_sum", s, NULL, s->value);
  put_sample(b, f, "_count", s, NULL, (double)s->count);
}

static void put_family(buf *b, const metrics_family *f) {
  buf_printf(b, "# HELP %s ", f->name);
  put_escaped(b, f->help, false);
  buf_printf(b, "\n# TYPE %s %s\n", f->name, type_names[f->type]);
  for (size_t i = 0; i < f->nseries; i++) {
    if (f->type == HISTOGRAM) put_histogram(b, f, f->series[i]);
    else put_sample(b, f, "", f->series[i], NULL, f->series[i]->value);
  }
}

char *metrics_text(metrics *m) {
  buf b = {0};
  buf_putc(&b, '\0'); /* an empty registry is "", not NULL */
  b.len = 0;
  pthread_mutex_lock(&m->lock);
  for (size_t i = 0; i < m->nfamilies; i++) put_family(&b, m->families[i]);
  pthread_mutex_unlock(&m->lock);
  return b.data;
}

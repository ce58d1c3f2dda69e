/* metrics.h: counters, gauges and histograms, served in Prometheus' text
 * exposition format.
 *
 * A registry holds families (one metric name each); a family holds one
 * series per combination of its label values. Every call may come from any
 * thread: the HTTP server renders the registry in its own thread while the
 * reconcile loop updates it. The text comes out in one order whatever the
 * order of the updates: families by name, series by label values. */
#ifndef PLUMB_METRICS_H
#define PLUMB_METRICS_H

#include <stddef.h>

typedef struct metrics metrics;
typedef struct metrics_family metrics_family;

metrics *metrics_new(void); /* caller owns; release with metrics_free */
void metrics_free(metrics *m);

/* Declare a family: labels is a NULL-terminated list of label names, or
 * NULL for none. Families belong to the registry; one without labels shows
 * 0 before its first update. Declaring a name again returns the family
 * already there when it has the same type, labels and number of buckets.
 * NULL for a clash, for a name or label Prometheus would refuse, or for
 * bounds that do not increase; updates to a NULL family do nothing. */
metrics_family *metrics_counter(metrics *m, const char *name, const char *help, const char *const *labels);
metrics_family *metrics_gauge(metrics *m, const char *name, const char *help, const char *const *labels);
/* bounds: the buckets' upper bounds, increasing; +Inf is implied. */
metrics_family *metrics_histogram(metrics *m, const char *name, const char *help, const char *const *labels,
                                  const double *bounds, size_t nbounds);

/* values: one per label name, in the family's order (NULL for a family
 * without labels). Adding to a counter a negative amount does nothing. */
void metrics_add(metrics_family *f, const char *const *values, double amount);
void metrics_set(metrics_family *f, const char *const *values, double value);
void metrics_observe(metrics_family *f, const char *const *values, double value);

/* The whole registry as Prometheus text (version 0.0.4); caller frees. */
char *metrics_text(metrics *m);

#endif

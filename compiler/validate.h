/* validate.h: checks a resource against Kubernetes' naming rules. */
#ifndef PLUMB_VALIDATE_H
#define PLUMB_VALIDATE_H

#include "plumb/diag.h"
#include "plumb/value.h"

/* Reports every problem of one resource; false if there was any. */
bool validate_resource(diag_list *d, const value *res);

/* Reports every string and key of v, at any depth, that is not UTF-8 text;
 * false if there was any. */
bool validate_text(diag_list *d, const value *v);

/* Kubernetes' own rules, exposed for the tests. */
bool validate_dns_subdomain(const char *s);
bool validate_dns_label(const char *s);
bool validate_label_key(const char *s);
bool validate_label_value(const char *s);
/* A key of ConfigMap or Secret data: up to 253 of [-._a-zA-Z0-9], not "." or "..". */
bool validate_config_key(const char *s);

#endif

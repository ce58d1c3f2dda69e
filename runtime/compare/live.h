/* live.h: an env's objects next to what the cluster holds of them, for
 * apply and diff: one list per apiVersion, kind and namespace instead of a
 * GET per object, and whether applying an object would change anything. */
#ifndef PLUMB_LIVE_H
#define PLUMB_LIVE_H

#include "plumb/apply.h"

typedef struct {
  json_t *body; /* what Plumb applies: apply_body */
  json_t *live; /* the object on the cluster; NULL when there is none */
  int rc;       /* KUBE_OK, or why it could not be read */
  const char *manager; /* the field manager applying body (NULL: "plumb"), borrowed */
  char *error;
} live_obj;

/* One per resource of r, with its body; live_free frees them. The rules
 * of ignore that match an object add to its body's keep-live annotations
 * (live_keep): their paths to plumb.dev/keep-live, their field managers
 * to plumb.dev/keep-live-managers. */
live_obj *live_new(const compile_result *r, const char *owner, const char *manager, const app_ignore *ignore,
                   size_t nignore);
void live_free(live_obj *objs, size_t n);

/* Reads the live objects of objs[0..n), listing their kinds per namespace
 * (concurrently, each list paginated), and keeps their keep-live fields
 * (live_keep). A kind the server does not serve
 * (yet) reads as absent: applying it says why. Where listing is forbidden
 * (a role that may get named objects only), each object is read alone. */
void live_read(kube_client *c, live_obj *objs, size_t n);

/* Puts into body, at each JSON pointer its keep-live annotation names
 * (and each place a jq-like path there reaches in live, ".a[].b", and
 * each field the managers its plumb.dev/keep-live-managers annotation
 * names own in live's managedFields)
 * (COMPILE_KEEP_LIVE, include/plumb/compile.h), the value live has
 * there, where live (may be NULL) has one: a field a chart generates
 * (a password) stays as the cluster has it, and is neither drift nor
 * changed by an apply. A field of an object that Plumb's apply (by
 * manager, NULL: "plumb") does not own in live's managedFields (an autoscaler took the replicas) is taken
 * out of body instead, so that an apply neither sends nor takes it.
 * Where live has none, body's own value stays, to be applied. A pointer
 * that reaches no place in body (a patch took the field's object away)
 * or is malformed is passed by. live_read does it for the objects it
 * reads: what diff, apply and a pass compare and apply. */
void live_keep(json_t *body, const json_t *live, const char *manager);

/* True when applying o would change nothing: kube_apply_unchanged, from
 * what live_read found. PLUMB_ASK_SERVER=1 in the environment turns this
 * off, so every object goes to the server, as kubectl does. */
bool live_unchanged(const live_obj *o);

/* Takes out what changes on every write or belongs to the server alone:
 * managedFields, resourceVersion, generation, uid, creationTimestamp and
 * status. */
void live_mask(json_t *obj);

/* Hides a Secret's values, in live (may be NULL) and merged alike, as Argo
 * CD does: each value becomes a row of '+', one as long on both sides
 * where the value is the same and a longer one in merged where it
 * differs, so that a diff tells which keys change and never what they
 * hold. kubectl's last-applied annotation, which holds them too, goes the
 * same way. Objects of other kinds are left alone. */
void live_mask_secret(json_t *live, json_t *merged);

/* True when after, an apply's answer, holds what live held: the same
 * object once masked and the same fields owned by manager (NULL: "plumb").
 * A controller that wrote status in between does not make an apply
 * "configured". */
bool live_same(const json_t *live, const json_t *after, const char *manager);

#endif

/* ctl.h: `plumb status`, `sync`, `history` and `rollback`: clients of the
 * API a running `plumb run` serves (docs/runtime.md, "HTTP endpoints").
 * Tables are aligned like kubectl get's; -o json prints the API's answer.
 * Each returns the exit status: 0, 1 when the API refused (an unknown
 * application, a bad token), 2 when the server could not be reached. */
#ifndef PLUMB_CTL_H
#define PLUMB_CTL_H

#include <stdbool.h>
#include <stdio.h>

typedef struct {
  const char *server; /* http://127.0.0.1:8080 */
  const char *token;  /* the bearer token; NULL sends none */
  bool json;
  FILE *out;
} ctl_opts;

/* Every application (app NULL), or one with its resources. */
int ctl_status(const ctl_opts *o, const char *app);
int ctl_sync(const ctl_opts *o, const char *app);
/* Suspends (or resumes) app's automated sync. */
int ctl_suspend(const ctl_opts *o, const char *app, bool suspend);
int ctl_history(const ctl_opts *o, const char *app);
/* id NULL: the previous successful sync. */
int ctl_rollback(const ctl_opts *o, const char *app, const char *id);

/* `plumb login`: signs user in with password and keeps the session for
 * o->server in the file at path (made with mode 0600, replaced whole);
 * `plumb logout` ends it and forgets it. */
int ctl_login(const ctl_opts *o, const char *user, const char *password, const char *path);
int ctl_logout(const ctl_opts *o, const char *path);
/* The session plumb login kept for server in the file at path, or NULL;
 * the caller frees. */
char *ctl_session(const char *path, const char *server);

#endif

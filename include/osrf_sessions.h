/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * osrf_sessions.h - the stateful session cache: which worker accepted a
 * CONNECT on which thread, so the thread's next messages go straight to
 * that worker rather than through the router (docs/PROTOCOL.md).
 *
 * Ownership: the caller gives the storage (a fixed array: no allocation);
 * the strings are copied in.  Nothing here locks: the plugin holds its
 * lock around every call.
 */
#ifndef OSRF_SESSIONS_H
#define OSRF_SESSIONS_H

#define OSRF_MAX_THREAD     64
#define OSRF_MAX_ADDRESS    256

/* thread -> the worker address that accepted a CONNECT on it. */
typedef struct {
    char thread[OSRF_MAX_THREAD + 1];
    char worker[OSRF_MAX_ADDRESS + 1];
} osrf_session;

typedef struct {
    osrf_session *entries;
    int count;
    int max;
} osrf_sessions;

void osrf_sessions_init(osrf_sessions *s, osrf_session *storage, int max);
/* The worker of thread, or NULL; valid until the cache next changes. */
const char *osrf_sessions_find(const osrf_sessions *s, const char *thread);
/* Adds (or replaces) thread's worker: 0, or -1 when the cache is full or
 * a string is too long (the caller refuses the session rather than
 * forget another). */
int osrf_sessions_add(osrf_sessions *s, const char *thread, const char *worker);
void osrf_sessions_remove(osrf_sessions *s, const char *thread);

#endif /* OSRF_SESSIONS_H */

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * osrf_sessions.c - the stateful session cache (osrf_sessions.h): a
 * small array searched in order, as a connection has a few stateful
 * sessions open at a time.
 */
#include <string.h>

#include "osrf_sessions.h"

void osrf_sessions_init(osrf_sessions *s, osrf_session *storage, int max)
{
    s->entries = storage;
    s->count = 0;
    s->max = max;
}

const char *osrf_sessions_find(const osrf_sessions *s, const char *thread)
{
    int i;

    for (i = 0; i < s->count; i++)
        if (strcmp(s->entries[i].thread, thread) == 0)
            return s->entries[i].worker;
    return NULL;
}

void osrf_sessions_remove(osrf_sessions *s, const char *thread)
{
    int i;

    for (i = 0; i < s->count; i++)
        if (strcmp(s->entries[i].thread, thread) == 0) {
            s->entries[i] = s->entries[--s->count];
            return;
        }
}

/* -1 when full: the caller refuses the session rather than forget another. */
int osrf_sessions_add(osrf_sessions *s, const char *thread, const char *worker)
{
    osrf_session *e;

    osrf_sessions_remove(s, thread);
    if (s->count >= s->max || strlen(thread) > OSRF_MAX_THREAD
        || strlen(worker) > OSRF_MAX_ADDRESS)
        return -1;
    e = &s->entries[s->count++];
    strcpy(e->thread, thread);
    strcpy(e->worker, worker);
    return 0;
}

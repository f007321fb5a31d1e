/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * osrf_flight.c - the bridge's request-tracking policy (osrf_flight.h):
 * the time is an argument, nothing here reads a clock or takes a lock.
 */
#include <stdio.h>
#include <string.h>

#include "osrf_flight.h"

void osrf_flight_init(osrf_flight *f)
{
    memset(f, 0, offsetof(osrf_flight, pending));
    osrf_sessions_init(&f->sessions, f->session_storage, OSRF_FLIGHT_MAX_SESSIONS);
}

void osrf_flight_begin(osrf_flight *f, const osrf_flight_limits *lim, int max_sessions,
                       int64_t now)
{
    f->lim = *lim;
    f->sessions.max = max_sessions < OSRF_FLIGHT_MAX_SESSIONS ? max_sessions
                                                              : OSRF_FLIGHT_MAX_SESSIONS;
    strcpy(f->address, f->next_address);
    f->open = 1;
    f->sessions.count = 0;
    f->npending = 0;
    f->in_flight = 0;
    f->abandoned = 0;
    f->stopping = 0;
    f->overflowed = 0;
    f->last_activity = f->last_request = now;
}

/* --- requests in flight ------------------------------------------------ */

static void pending_add(osrf_flight *f, const osrf_inbound *in, int64_t now)
{
    osrf_pending *p;
    int i;

    f->in_flight += in->replies;
    for (i = 0; i < f->npending; i++)
        if (strcmp(f->pending[i].thread, in->thread) == 0) {
            f->pending[i].requests += in->replies;
            f->pending[i].since = now;
            return;
        }
    if (f->npending == OSRF_FLIGHT_MAX_PENDING)
        return;
    p = &f->pending[f->npending++];
    strcpy(p->thread, in->thread);
    snprintf(p->trace, sizeof(p->trace), "%s", in->trace);
    strcpy(p->xid, in->xid);
    p->requests = in->replies;
    p->since = now;
}

/* Requests of thread ended; one failed by us (a lost bus, the max wait)
 * counts off the abandoned ones. */
/* Counts completed requests of thread off; 1 if it was in flight, 0 if
 * it was not (answered already, as the bus's loss answers every thread). */
static int pending_done(osrf_flight *f, const char *thread, int completed)
{
    int i;

    if (completed == 0)
        return 0;
    for (i = 0; i < f->npending; i++)
        if (strcmp(f->pending[i].thread, thread) == 0) {
            osrf_pending *p = &f->pending[i];
            int n = completed < p->requests ? completed : p->requests;

            f->in_flight -= n;
            if ((p->requests -= n) == 0)
                *p = f->pending[--f->npending];
            return 1;
        }
    f->abandoned -= completed;
    if (f->abandoned < 0)
        f->abandoned = 0;
    return 0;
}

int osrf_flight_busy(const osrf_flight *f, const osrf_inbound *in)
{
    return osrf_over_cap(f->in_flight, in->replies, f->lim.max_in_flight);
}

int osrf_flight_sessions_full(const osrf_flight *f, const osrf_inbound *in)
{
    return in->connect && osrf_sessions_find(&f->sessions, in->thread) == NULL
           && f->sessions.count >= f->sessions.max;
}

void osrf_flight_sent(osrf_flight *f, const osrf_inbound *in, int64_t now)
{
    if (in->replies)
        pending_add(f, in, now);
}

int osrf_flight_unsent(osrf_flight *f, const osrf_inbound *in)
{
    return pending_done(f, in->thread, in->replies) || in->replies == 0;
}

void osrf_flight_relayed(osrf_flight *f, const osrf_inbound *in, int64_t now)
{
    f->last_activity = now;
    if (in->replies)
        f->last_request = now;
    if (in->disconnect)
        osrf_sessions_remove(&f->sessions, in->thread);
}

int osrf_flight_shutdown(osrf_flight *f)
{
    f->stopping = 1;
    return f->in_flight == 0;
}

/* --- the end of a connection ------------------------------------------ */

static osrf_retired *retired_find(osrf_flight *f, const char *address)
{
    int i;

    for (i = 0; i < f->nretired; i++)
        if (strcmp(f->retired[i].address, address) == 0)
            return &f->retired[i];
    return NULL;
}

void osrf_flight_let_go(osrf_flight *f)
{
    f->open = 0;
}

osrf_end osrf_flight_end(osrf_flight *f, int watched, int64_t now, int *outstanding)
{
    int sessions = f->sessions.count;
    osrf_retired *d;

    f->open = 0;
    *outstanding = f->in_flight + f->abandoned;
    if (*outstanding == 0 && sessions == 0)
        return OSRF_END_DELETE;
    if (f->nretired == OSRF_FLIGHT_MAX_RETIRED)
        return OSRF_END_NO_ROOM;
    d = &f->retired[f->nretired++];
    strcpy(d->address, f->address);
    d->outstanding = *outstanding + (watched ? 1 : 0);
    d->discarding = f->overflowed;
    d->deadline = now + f->lim.max_request_wait;
    d->linger_until = sessions > 0 ? now + OSRF_FLIGHT_LINGER : 0;
    return OSRF_END_RETIRED;
}

void osrf_flight_sessions_ended(osrf_flight *f)
{
    f->sessions.count = 0;
}

/* --- the listener ------------------------------------------------------ */

int osrf_flight_has_keys(const osrf_flight *f)
{
    return f->open || f->nretired > 0;
}

int osrf_flight_keys(osrf_flight *f, const char *keys[1 + OSRF_FLIGHT_MAX_RETIRED])
{
    int i, n = 0;

    f->watching = f->open;
    keys[n++] = f->open ? f->address : f->next_address;
    for (i = 0; i < f->nretired; i++)
        keys[n++] = f->retired[i].address;
    return n;
}

int osrf_flight_is_token(const char *raw, size_t len)
{
    return len == sizeof(OSRF_FLIGHT_WAKE_TOKEN) - 1
           && memcmp(raw, OSRF_FLIGHT_WAKE_TOKEN, len) == 0;
}

void osrf_flight_token(osrf_flight *f, const char *key)
{
    osrf_retired *d = retired_find(f, key);

    if (d)
        d->outstanding--;
}

int osrf_flight_discarding(const osrf_flight *f, const char *key)
{
    int i;

    if (f->open && f->overflowed && strcmp(key, f->address) == 0)
        return 1;
    for (i = 0; i < f->nretired; i++)
        if (strcmp(f->retired[i].address, key) == 0)
            return f->retired[i].discarding;
    return 0;
}

int osrf_flight_popped(osrf_flight *f, const char *key, const osrf_outbound *out,
                       int64_t now)
{
    osrf_retired *d;
    int acts = OSRF_FLIGHT_SEND;

    if (!f->open || strcmp(key, f->address) != 0) {
        if ((d = retired_find(f, key)) != NULL)
            d->outstanding -= out->completed;
        return 0;
    }
    if (out->connected && strncmp(out->from, "opensrf:client:", 15) == 0
        && osrf_sessions_add(&f->sessions, out->thread, out->from) < 0)
        acts |= OSRF_FLIGHT_CACHE_FULL;
    if (out->timed_out)
        osrf_sessions_remove(&f->sessions, out->thread);
    pending_done(f, out->thread, out->completed);
    f->last_activity = now;
    return acts;
}

int osrf_flight_may_go_away(osrf_flight *f, int stopping)
{
    if (!f->open || f->in_flight != 0)
        return 0;
    f->stopping |= stopping;
    return f->stopping;
}

int osrf_flight_idle(osrf_flight *f, int64_t now, int stopping)
{
    int waited_out;

    if (!f->open)
        return 0;
    waited_out = f->in_flight == 0 || now - f->last_request > f->lim.max_request_wait;
    if (!waited_out)
        return 0;
    f->stopping |= stopping;
    if (f->stopping)
        return OSRF_FLIGHT_GO_AWAY;
    return now - f->last_activity > f->lim.idle_timeout ? OSRF_FLIGHT_CLOSE : 0;
}

int osrf_flight_expire(osrf_flight *f, int64_t now,
                       osrf_pending late[OSRF_FLIGHT_MAX_PENDING])
{
    int64_t cutoff = now - f->lim.max_request_wait;
    int i, n = 0;

    for (i = 0; f->open && i < f->npending;) {
        osrf_pending *p = &f->pending[i];

        if (p->since > cutoff) {
            i++;
            continue;
        }
        late[n++] = *p;
        f->in_flight -= p->requests;
        f->abandoned += p->requests;
        osrf_sessions_remove(&f->sessions, p->thread);
        *p = f->pending[--f->npending];
    }
    return n;
}

int osrf_flight_lost(osrf_flight *f, osrf_pending lost[OSRF_FLIGHT_MAX_PENDING])
{
    int n = f->npending;

    memcpy(lost, f->pending, (size_t)n * sizeof(lost[0]));
    f->npending = 0;
    f->abandoned += f->in_flight;
    f->in_flight = 0;
    return n;
}

int osrf_flight_finished(osrf_flight *f, int64_t now,
                         osrf_retired done[OSRF_FLIGHT_MAX_RETIRED])
{
    int i, n = 0;

    for (i = 0; i < f->nretired;) {
        osrf_retired *d = &f->retired[i];

        if (!osrf_address_done(d->discarding ? 1 : d->outstanding, now, d->deadline,
                               d->linger_until)) {
            i++;
            continue;
        }
        done[n++] = *d;
        *d = f->retired[--f->nretired];
    }
    return n;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ws_metrics.c - the counter table in shared memory: layout, sums and the
 * two renderings (JSON, Prometheus text format 0.0.4).  See ws_metrics.h.
 */
#include <string.h>

#include "ws_metrics.h"
#include "ws_out.h"

#define WS_METRICS_MAGIC 0x4f575331u    /* "OWS1" */
#define PROM_PREFIX "osrf_ws_"

enum { COUNTER, GAUGE };

typedef struct {
    int kind;
    const char *family;
    const char *code;
    const char *help;
} metric_info;

#define WS_METRIC_INFO(id, k, f, c, h) { k, f, c, h },
static const metric_info info[WS_METRIC_COUNT] = { WS_METRICS(WS_METRIC_INFO) };
#undef WS_METRIC_INFO

size_t ws_metrics_size(unsigned nslots)
{
    return sizeof(ws_metrics_table) + (size_t)nslots * sizeof(ws_metrics_slot);
}

int ws_metrics_init(ws_metrics_table *t, unsigned nslots)
{
    if (t->magic == WS_METRICS_MAGIC && t->version == WS_METRICS_VERSION
        && t->nslots == nslots && t->slot_size == sizeof(ws_metrics_slot))
        return 1;
    memset(t, 0, ws_metrics_size(nslots));
    t->magic = WS_METRICS_MAGIC;
    t->version = WS_METRICS_VERSION;
    t->nslots = nslots;
    t->slot_size = sizeof(ws_metrics_slot);
    return 0;
}

void ws_metrics_claim(ws_metrics_slot *s, uint64_t pid)
{
    int i;

    if (__atomic_load_n(&s->pid, __ATOMIC_RELAXED) == pid)
        return;
    for (i = 0; i < WS_METRIC_COUNT; i++)
        if (info[i].kind == GAUGE)
            __atomic_store_n(&s->v[i], 0, __ATOMIC_RELAXED);
    __atomic_store_n(&s->pid, pid, __ATOMIC_RELAXED);
}

void ws_metrics_sum(const ws_metrics_table *t, const uint64_t *live,
                    uint64_t sum[WS_METRIC_COUNT])
{
    unsigned n;
    int i;

    memset(sum, 0, WS_METRIC_COUNT * sizeof(sum[0]));
    for (n = 0; n < t->nslots; n++) {
        const ws_metrics_slot *s = &t->slot[n];
        uint64_t pid = __atomic_load_n(&s->pid, __ATOMIC_RELAXED);
        int gauges = pid != 0 && live[n] == pid;

        for (i = 0; i < WS_METRIC_COUNT; i++)
            if (info[i].kind == COUNTER || gauges)
                sum[i] += __atomic_load_n(&s->v[i], __ATOMIC_RELAXED);
    }
}

/* Gauges are sums of wrapping adds: read them back as signed. */
static long long value(const uint64_t sum[], int i)
{
    return info[i].kind == GAUGE ? (long long)(int64_t)sum[i] : (long long)sum[i];
}

static const struct {
    const char *name;
    size_t offset;
} child_states[] = {
    { "total", offsetof(ws_children, total) },
    { "starting", offsetof(ws_children, starting) },
    { "idle", offsetof(ws_children, idle) },
    { "websocket", offsetof(ws_children, websocket) },
    { "other", offsetof(ws_children, other) },
    { "stopping", offsetof(ws_children, stopping) },
};
#define NSTATES (sizeof(child_states) / sizeof(child_states[0]))

static int child_count(const ws_children *ch, size_t k)
{
    return *(const int *)((const char *)ch + child_states[k].offset);
}

const char *ws_children_state(const ws_children *ch, size_t k, int *count)
{
    if (k >= NSTATES)
        return NULL;
    *count = child_count(ch, k);
    return child_states[k].name;
}

int ws_metrics_json(const uint64_t sum[WS_METRIC_COUNT], const ws_children *ch,
                    long generation, char *buf, size_t n)
{
    ws_out o = WS_OUT(buf, n);
    size_t k;
    int i;

    ws_put(&o, "{\"version\":%d,\"generation\":%ld", WS_METRICS_VERSION, generation);
    for (i = 0; i < WS_METRIC_COUNT; i++) {
        const metric_info *m = &info[i];
        int first = i == 0 || strcmp(info[i - 1].family, m->family) != 0;
        int last = i == WS_METRIC_COUNT - 1 || strcmp(info[i + 1].family, m->family) != 0;

        if (m->code == NULL) {
            ws_put(&o, ",\"%s\":%lld", m->family, value(sum, i));
            continue;
        }
        if (first)
            ws_put(&o, ",\"%s\":{", m->family);
        else
            ws_put(&o, ",");
        ws_put(&o, "\"%s\":%lld%s", m->code, value(sum, i), last ? "}" : "");
    }
    ws_put(&o, ",\"children\":{");
    for (k = 0; k < NSTATES; k++)
        ws_put(&o, "%s\"%s\":%d", k ? "," : "", child_states[k].name, child_count(ch, k));
    ws_put(&o, "}}\n");
    return ws_out_end(&o);
}

int ws_metrics_prometheus(const uint64_t sum[WS_METRIC_COUNT], const ws_children *ch,
                          long generation, char *buf, size_t n)
{
    ws_out o = WS_OUT(buf, n);
    size_t k;
    int i;

    for (i = 0; i < WS_METRIC_COUNT; i++) {
        const metric_info *m = &info[i];

        if (m->help)
            ws_put(&o, "# HELP " PROM_PREFIX "%s %s\n# TYPE " PROM_PREFIX "%s %s\n",
                m->family, m->help, m->family, m->kind == GAUGE ? "gauge" : "counter");
        if (m->code)
            ws_put(&o, PROM_PREFIX "%s{code=\"%s\"} %lld\n", m->family, m->code, value(sum, i));
        else
            ws_put(&o, PROM_PREFIX "%s %lld\n", m->family, value(sum, i));
    }
    ws_put(&o, "# HELP " PROM_PREFIX "children Apache children of the instance, by state\n"
            "# TYPE " PROM_PREFIX "children gauge\n");
    for (k = 1; k < NSTATES; k++)
        ws_put(&o, PROM_PREFIX "children{state=\"%s\"} %d\n", child_states[k].name,
            child_count(ch, k));
    ws_put(&o, "# HELP " PROM_PREFIX "generation Apache's restart generation\n"
            "# TYPE " PROM_PREFIX "generation gauge\n" PROM_PREFIX "generation %ld\n",
        generation);
    return ws_out_end(&o);
}

/*
 * osrf_json.c - the JSON span scanner (see osrf_json.h).
 */
#include <string.h>

#include "osrf_json.h"

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* Past the closing quote of the string whose opening quote is at p. */
static const char *skip_string(const char *p, const char *end)
{
    for (p++; p < end; p++) {
        if (*p == '"')
            return p + 1;
        if (*p == '\\' && ++p == end)
            return NULL;
        if ((unsigned char)*p < 0x20)
            return NULL;
    }
    return NULL;
}

const char *osrf_json_skip(const char *p, const char *end, int max_depth)
{
    int depth = 0;

    p = skip_ws(p, end);
    if (p >= end)
        return NULL;
    /* brackets only need counting: strings are skipped whole */
    do {
        if (p >= end)
            return NULL;
        switch (*p) {
        case '"':
            if ((p = skip_string(p, end)) == NULL)
                return NULL;
            break;
        case '{':
        case '[':
            if (++depth > max_depth)
                return NULL;
            p++;
            break;
        case '}':
        case ']':
            if (--depth < 0)
                return NULL;
            p++;
            break;
        default:
            if (depth == 0) {           /* a number or a literal */
                const char *start = p;
                while (p < end && !strchr(",}] \t\r\n", *p))
                    p++;
                return p > start ? p : NULL;
            }
            p++;
        }
    } while (depth > 0);
    return p;
}

int osrf_json_get(osrf_span obj, const char *key, osrf_span *value)
{
    const char *p = skip_ws(obj.p, obj.p + obj.n), *end = obj.p + obj.n;
    size_t klen = strlen(key);

    if (p >= end || *p != '{')
        return 0;
    for (p++;;) {
        const char *k, *kend, *v;

        p = skip_ws(p, end);
        if (p >= end || *p != '"')
            return 0;
        k = p;
        if ((p = kend = skip_string(p, end)) == NULL)
            return 0;
        p = skip_ws(p, end);
        if (p >= end || *p != ':')
            return 0;
        v = skip_ws(p + 1, end);
        if ((p = osrf_json_skip(v, end, 4096)) == NULL)
            return 0;
        if ((size_t)(kend - k) == klen + 2 && memcmp(k + 1, key, klen) == 0) {
            value->p = v;
            value->n = (size_t)(p - v);
            return 1;
        }
        p = skip_ws(p, end);
        if (p >= end || *p != ',')
            return 0;
        p++;
    }
}

int osrf_json_next(osrf_span arr, const char **cursor, osrf_span *elem)
{
    const char *end = arr.p + arr.n, *p, *e;

    if (*cursor == NULL) {
        p = skip_ws(arr.p, end);
        if (p >= end || *p != '[')
            return 0;
        p = skip_ws(p + 1, end);
        if (p < end && *p == ']')
            return 0;
    } else {
        p = skip_ws(*cursor, end);
        if (p >= end || *p != ',')
            return 0;
        p = skip_ws(p + 1, end);
    }
    if ((e = osrf_json_skip(p, end, 4096)) == NULL)
        return 0;
    elem->p = p;
    elem->n = (size_t)(e - p);
    *cursor = e;
    return 1;
}

int osrf_json_is_string(osrf_span v, const char *s)
{
    size_t n = strlen(s);

    return v.n == n + 2 && v.p[0] == '"' && memcmp(v.p + 1, s, n) == 0
           && v.p[n + 1] == '"';
}

int osrf_json_int(osrf_span v)
{
    const char *p = v.p, *end = v.p + v.n;
    int n = 0, digits = 0;

    if (p < end && *p == '"')
        p++, end--;
    for (; p < end && *p >= '0' && *p <= '9' && digits < 9; p++, digits++)
        n = n * 10 + (*p - '0');
    return digits && p == end ? n : -1;
}

/*
 * osrf_json.c - the JSON span scanner (see osrf_json.h).
 */
#include <string.h>

#include "osrf_json.h"
#include "ws_codec.h"

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* Past the closing quote of the string whose opening quote is at p:
 * escapes must be JSON's, control characters escaped, the rest UTF-8 (a
 * WebSocket text frame may carry nothing else). */
static const char *skip_string(const char *p, const char *end)
{
    const char *start = p + 1;

    for (p++; p < end; p++) {
        if (*p == '"')
            return ws_utf8_valid((const unsigned char *)start, (size_t)(p - start))
                   ? p + 1 : NULL;
        if ((unsigned char)*p < 0x20)
            return NULL;
        if (*p != '\\')
            continue;
        if (++p == end)
            return NULL;
        if (*p == 'u') {
            int i;

            for (i = 1; i <= 4; i++)
                if (p + i >= end || !strchr("0123456789abcdefABCDEF", p[i]) || !p[i])
                    return NULL;
            p += 4;
        } else if (!strchr("\"\\/bfnrt", *p) || !*p) {
            return NULL;
        }
    }
    return NULL;
}

/* Past a number (RFC 8259 grammar) or a literal at p; NULL if neither. */
static const char *skip_scalar(const char *p, const char *end)
{
    static const char *const literals[] = { "true", "false", "null" };
    const char *start;
    size_t i;

    for (i = 0; i < 3; i++) {
        size_t n = strlen(literals[i]);

        if ((size_t)(end - p) >= n && memcmp(p, literals[i], n) == 0)
            return p + n;
    }
    if (p < end && *p == '-')
        p++;
    if (p < end && *p == '0')
        p++;
    else if (p < end && *p >= '1' && *p <= '9')
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    else
        return NULL;
    if (p < end && *p == '.') {
        for (start = ++p; p < end && *p >= '0' && *p <= '9'; p++)
            ;
        if (p == start)
            return NULL;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        if (++p < end && (*p == '+' || *p == '-'))
            p++;
        for (start = p; p < end && *p >= '0' && *p <= '9'; p++)
            ;
        if (p == start)
            return NULL;
    }
    return p;
}

#define MAX_NESTING 4096

/* Past `"key" :` at p (white space allowed around it), or NULL. */
static const char *skip_key(const char *p, const char *end)
{
    p = skip_ws(p, end);
    if (p >= end || *p != '"' || (p = skip_string(p, end)) == NULL)
        return NULL;
    p = skip_ws(p, end);
    return p < end && *p == ':' ? p + 1 : NULL;
}

/* One pass over one value, checking the grammar as it goes (nothing is
 * built): a bus reply's body is passed on only if it is valid JSON. */
const char *osrf_json_skip(const char *p, const char *end, int max_depth)
{
    unsigned char in_object[MAX_NESTING];
    int depth = 0, want_value = 1;

    if (max_depth > MAX_NESTING)
        max_depth = MAX_NESTING;
    for (;;) {
        p = skip_ws(p, end);
        if (p >= end)
            return NULL;
        if (want_value && (*p == '{' || *p == '[')) {
            if (depth == max_depth)
                return NULL;
            in_object[depth++] = *p++ == '{';
            p = skip_ws(p, end);
            if (p < end && *p == (in_object[depth - 1] ? '}' : ']')) {
                p++;
                if (--depth == 0)
                    return p;
                want_value = 0;
            } else if (in_object[depth - 1] && (p = skip_key(p, end)) == NULL) {
                return NULL;
            }
        } else if (want_value) {
            p = *p == '"' ? skip_string(p, end) : skip_scalar(p, end);
            if (p == NULL || depth == 0)
                return p;
            want_value = 0;
        } else if (*p == (in_object[depth - 1] ? '}' : ']')) {
            p++;
            if (--depth == 0)
                return p;
        } else if (*p++ != ',') {
            return NULL;
        } else if (in_object[depth - 1] && (p = skip_key(p, end)) == NULL) {
            return NULL;
        } else {
            want_value = 1;
        }
    }
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

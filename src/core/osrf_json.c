/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * osrf_json.c - the JSON span scanner (see osrf_json.h): one checking
 * pass over a message, then walks that only find where values end; and
 * the gateway's JSON output, written straight into a ws_buffer.
 */
#include <string.h>

#include "osrf_json.h"
#include "ws_codec.h"

const char *osrf_json_skip_ws(const char *p, const char *end)
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
    p = osrf_json_skip_ws(p, end);
    if (p >= end || *p != '"' || (p = skip_string(p, end)) == NULL)
        return NULL;
    p = osrf_json_skip_ws(p, end);
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
        p = osrf_json_skip_ws(p, end);
        if (p >= end)
            return NULL;
        if (want_value && (*p == '{' || *p == '[')) {
            if (depth == max_depth)
                return NULL;
            in_object[depth++] = *p++ == '{';
            p = osrf_json_skip_ws(p, end);
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

/* --- walking JSON already checked ----------------------------------------- */

/* Past the string whose opening quote is at p. */
static const char *end_of_string(const char *p, const char *end)
{
    for (p++; p < end; p++) {
        if (*p == '"')
            return p + 1;
        if (*p == '\\')
            p++;
    }
    return NULL;
}

/* Past the value at p, finding only where it ends: on checked JSON a
 * bracket count does, without checking the grammar or UTF-8 again. */
static const char *end_of_value(const char *p, const char *end)
{
    int depth = 0;

    p = osrf_json_skip_ws(p, end);
    while (p < end) {
        switch (*p) {
        case '"':
            if ((p = end_of_string(p, end)) == NULL || depth == 0)
                return p;
            continue;
        case '{':
        case '[':
            depth++;
            break;
        case '}':
        case ']':
            if (depth == 0)
                return p;       /* a scalar ended by its container */
            if (--depth == 0)
                return p + 1;
            break;
        case ',':
        case ':':
        case ' ':
        case '\t':
        case '\n':
        case '\r':
            if (depth == 0)
                return p;
            break;
        }
        p++;
    }
    return depth == 0 ? p : NULL;
}

/* Where the next member or element of the container c begins: after its
 * opening bracket the first time (cursor NULL), else after the comma
 * that follows the cursor; NULL when there is none. */
static const char *next_item(osrf_span c, const char *cursor, char open)
{
    const char *end = c.p + c.n, *p = osrf_json_skip_ws(cursor ? cursor : c.p, end);

    if (p >= end || *p != (cursor ? ',' : open))
        return NULL;
    p = osrf_json_skip_ws(p + 1, end);
    return p < end && *p != (open == '{' ? '}' : ']') ? p : NULL;
}

int osrf_json_member(osrf_span obj, const char **cursor, osrf_span *key, osrf_span *value)
{
    const char *end = obj.p + obj.n, *p = next_item(obj, *cursor, '{'), *v;

    if (p == NULL || *p != '"' || (v = end_of_string(p, end)) == NULL)
        return 0;
    key->p = p;
    key->n = (size_t)(v - p);
    v = osrf_json_skip_ws(v, end);
    if (v >= end || *v != ':')
        return 0;
    v = osrf_json_skip_ws(v + 1, end);
    if ((p = end_of_value(v, end)) == NULL || p == v)
        return 0;
    value->p = v;
    value->n = (size_t)(p - v);
    *cursor = p;
    return 1;
}

int osrf_json_key_is(osrf_span key, const char *name)
{
    char plain[64];

    if (memchr(key.p, '\\', key.n) == NULL)
        return osrf_json_is_string(key, name);
    return osrf_json_unescape(key, plain, sizeof(plain)) == 0 && strcmp(plain, name) == 0;
}

int osrf_json_get(osrf_span obj, const char *key, osrf_span *value)
{
    const char *cursor = NULL;
    osrf_span k;

    while (osrf_json_member(obj, &cursor, &k, value))
        if (osrf_json_key_is(k, key))
            return 1;
    return 0;
}

void osrf_json_members(osrf_span obj, const char *const *names, osrf_span *values)
{
    const char *cursor = NULL;
    osrf_span k, v;
    int i;

    for (i = 0; names[i]; i++)
        values[i].p = NULL, values[i].n = 0;
    while (osrf_json_member(obj, &cursor, &k, &v))
        for (i = 0; names[i]; i++)
            if (osrf_json_key_is(k, names[i]))
                values[i] = v;
}

int osrf_json_next(osrf_span arr, const char **cursor, osrf_span *elem)
{
    const char *p = next_item(arr, *cursor, '['), *e;

    if (p == NULL || (e = end_of_value(p, arr.p + arr.n)) == NULL || e == p)
        return 0;
    elem->p = p;
    elem->n = (size_t)(e - p);
    *cursor = e;
    return 1;
}

static int hex4(const char *p)
{
    int v = 0, i;

    for (i = 0; i < 4; i++) {
        char c = p[i];

        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= c - '0';
        else if (c >= 'a' && c <= 'f')
            v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v |= c - 'A' + 10;
        else
            return -1;
    }
    return v;
}

static size_t put_utf8(char *out, unsigned long cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

int osrf_json_unescape(osrf_span tok, char *out, size_t outlen)
{
    const char *p, *end;
    size_t n = 0;

    if (tok.n < 2 || tok.p[0] != '"' || tok.p[tok.n - 1] != '"' || outlen == 0)
        return -1;
    p = tok.p + 1;
    end = tok.p + tok.n - 1;
    while (p < end) {
        char one[4];
        size_t k = 1;

        if (*p != '\\') {
            one[0] = *p++;
        } else if (p + 1 < end && p[1] != 'u') {
            const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
            const char *at = strchr(from, p[1]);

            if (at == NULL || p[1] == '\0')
                return -1;
            one[0] = to[at - from];
            p += 2;
        } else {
            long cp = p + 6 <= end ? hex4(p + 2) : -1;

            p += 6;
            if (cp >= 0xd800 && cp < 0xdc00) {  /* a surrogate pair */
                long lo = p + 6 <= end && p[0] == '\\' && p[1] == 'u' ? hex4(p + 2) : -1;

                if (lo < 0xdc00 || lo > 0xdfff)
                    return -1;
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                p += 6;
            } else if (cp >= 0xdc00 && cp <= 0xdfff) {
                return -1;
            }
            if (cp <= 0)                /* malformed, or \u0000 */
                return -1;
            k = put_utf8(one, (unsigned long)cp);
        }
        if (n + k >= outlen)
            return -1;
        memcpy(out + n, one, k);
        n += k;
    }
    out[n] = '\0';
    return 0;
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

int osrf_json_over_values(const char *p, size_t len, size_t max)
{
    const char *end = p + len;
    size_t n = 0;

    while (p != NULL && p < end) {
        char c = *p;

        if (c == '"') {
            p = end_of_string(p, end);
            continue;
        }
        p++;
        if ((c == ',' || c == '[' || c == '{') && ++n > max)
            return 1;
    }
    return 0;
}

/* --- output ----------------------------------------------------------------- */

int osrf_json_append_compact(ws_buffer *b, osrf_span v)
{
    const char *p = v.p, *end = v.p + v.n, *run = p;

    while (p != NULL && p < end) {
        if (*p == '"') {
            p = end_of_string(p, end);
        } else if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') {
            ws_buffer_append(b, run, (size_t)(p - run));
            run = p = osrf_json_skip_ws(p, end);
        } else {
            p++;
        }
    }
    return ws_buffer_append(b, run, (size_t)(end - run));
}

/* JSON's two-character escapes, as json-c and JSON.stringify write them. */
static const char *short_escape(unsigned char c)
{
    switch (c) {
    case '"':  return "\\\"";
    case '\\': return "\\\\";
    case '\b': return "\\b";
    case '\f': return "\\f";
    case '\n': return "\\n";
    case '\r': return "\\r";
    case '\t': return "\\t";
    default:   return NULL;
    }
}

int osrf_json_append_string(ws_buffer *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    const char *run = s;

    ws_buffer_puts(b, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        const char *esc = short_escape(c);
        char u[7] = "\\u00";

        if (esc == NULL && c >= 0x20)
            continue;
        if (esc == NULL) {
            u[4] = hex[c >> 4];
            u[5] = hex[c & 15];
            esc = u;
        }
        ws_buffer_append(b, run, (size_t)(s - run));
        ws_buffer_puts(b, esc);
        run = s + 1;
    }
    ws_buffer_append(b, run, (size_t)(s - run));
    return ws_buffer_puts(b, "\"");
}

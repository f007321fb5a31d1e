/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * osrf_json.h - a JSON span scanner: finds values inside raw JSON text
 * without building a tree, so a bus reply's body (megabytes, deeply
 * nested) is passed through as the bytes it came as.
 */
#ifndef OSRF_JSON_H
#define OSRF_JSON_H

#include <stddef.h>

typedef struct {
    const char *p;
    size_t n;
} osrf_span;

/* The end of the JSON value starting at p (leading white space skipped),
 * or NULL if it is not valid JSON (RFC 8259 grammar, checked in one
 * pass without building anything), nests deeper than max_depth, or runs
 * past end. */
const char *osrf_json_skip(const char *p, const char *end, int max_depth);

/* The walks below are for JSON already checked with osrf_json_skip: they
 * only find where values begin and end (on anything else they stay
 * within the span and may return nonsense, never read past it). */

/* Walks the members of the object obj: *cursor starts NULL; returns 1
 * with the next key (its string token, quotes included) and value, 0 at
 * the end. */
int osrf_json_member(osrf_span obj, const char **cursor, osrf_span *key,
                     osrf_span *value);

/* 1 if the key token names name once unescaped ("t\u0079pe" is "type"). */
int osrf_json_key_is(osrf_span key, const char *name);

/* The value of the first member named key in the object obj. */
int osrf_json_get(osrf_span obj, const char *key, osrf_span *value);

/* Walks the array arr: *cursor starts NULL; returns 1 with the next
 * element, 0 at the end. */
int osrf_json_next(osrf_span arr, const char **cursor, osrf_span *elem);

/* 1 if the span holds the JSON string s exactly (no escapes in s). */
int osrf_json_is_string(osrf_span v, const char *s);

/* A number or a numeric string ("205") as an int; -1 otherwise. */
int osrf_json_int(osrf_span v);

/* The string token tok (quotes included) unescaped into out as UTF-8,
 * NUL-terminated; -1 if it is not a string, holds \u0000 or a lone
 * surrogate, or does not fit. */
int osrf_json_unescape(osrf_span tok, char *out, size_t outlen);

#endif /* OSRF_JSON_H */

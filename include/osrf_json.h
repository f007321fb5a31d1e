/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * osrf_json.h - a JSON span scanner: finds values inside raw JSON text
 * without building a tree, so a bus reply's body (megabytes, deeply
 * nested) is passed through as the bytes it came as; and the JSON the
 * gateway writes itself, appended to a ws_buffer.
 */
#ifndef OSRF_JSON_H
#define OSRF_JSON_H

#include <stddef.h>

#include "ws_buffer.h"

typedef struct {
    const char *p;
    size_t n;
} osrf_span;

/* The end of the JSON value starting at p (leading white space skipped),
 * or NULL if it is not valid JSON (RFC 8259 grammar, checked in one
 * pass without building anything), nests deeper than max_depth, or runs
 * past end. */
const char *osrf_json_skip(const char *p, const char *end, int max_depth);

/* Past the JSON white space at p (never past end). */
const char *osrf_json_skip_ws(const char *p, const char *end);

/* 1 if the text holds more than max values, counting the commas,
 * brackets and braces outside strings: a bound on what a parser would
 * build from it, found without parsing. */
int osrf_json_over_values(const char *p, size_t len, size_t max);

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

/* Sets values[i] to the value of the last member of obj named names[i]
 * (names ends with NULL; {NULL, 0} when absent): a duplicate key means
 * what the service's parser will take, the last. */
void osrf_json_members(osrf_span obj, const char *const *names, osrf_span *values);

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

/* --- output: each returns 0, or -1 if the buffer refused (ws_buffer.h:
 * a refusal sticks, so the last call's result tells) --------------------- */

/* Appends the checked JSON value v without the white space between its
 * tokens: what json-c's plain output was, without building a tree. */
int osrf_json_append_compact(ws_buffer *b, osrf_span v);

/* Appends s as a JSON string, quotes included, escaped as json-c's plain
 * output escapes (quote, backslash, \b \f \n \r \t, other control
 * characters as \u00xx; '/' and every byte from 0x20 up as they are). */
int osrf_json_append_string(ws_buffer *b, const char *s);

#endif /* OSRF_JSON_H */

/* Converting between JS values and C values; every helper throws on failure and returns -1 (or NULL). */
#ifndef TEND_ARGS_H
#define TEND_ARGS_H

#include "tend.h"

#include <stdbool.h>
#include <stdint.h>

/* Fetches exactly n arguments (missing ones are undefined); 0 on success. */
int tend_args(napi_env env, napi_callback_info info, size_t n, napi_value *argv);

/* Reads a JS number as int32 / int64 / double, or a boolean; 0 on success, -1 with a TypeError thrown. */
int tend_get_i32(napi_env env, napi_value value, int32_t *out);
int tend_get_i64(napi_env env, napi_value value, int64_t *out);
int tend_get_f64(napi_env env, napi_value value, double *out);
int tend_get_bool(napi_env env, napi_value value, bool *out);

/* Copies a JS string as malloc'd UTF-8 (caller frees); NULL with a TypeError thrown, also for embedded NULs. */
char *tend_get_string(napi_env env, napi_value value);

/* The one argument of a function that takes a string (a path, a name), as tend_get_string copies it. */
char *tend_string_arg(napi_env env, napi_callback_info info);

/* Reads obj[key]; 0 on success. */
int tend_get_prop(napi_env env, napi_value object, const char *key, napi_value *out);

/* Length of a JS array; 0 on success. */
int tend_get_length(napi_env env, napi_value array, uint32_t *out);

/* True when value is null or undefined. */
bool tend_is_nullish(napi_env env, napi_value value);

/* Value constructors; NULL with an exception thrown on failure. */
napi_value tend_undefined(napi_env env);
napi_value tend_null(napi_env env);
napi_value tend_bool(napi_env env, bool value);
napi_value tend_number(napi_env env, double value);
/* [fds[0], fds[1]] as a JS array; closes both and throws on failure (fd.c). */
napi_value tend_fd_pair(napi_env env, const int fds[2]);
napi_value tend_string(napi_env env, const char *value);

/* Sets obj[key] to a number / string / null; 0 on success. */
int tend_set_number(napi_env env, napi_value object, const char *key, double value);
int tend_set_string(napi_env env, napi_value object, const char *key, const char *value);
int tend_set_null(napi_env env, napi_value object, const char *key);

#endif

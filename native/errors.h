/* Turning errno values and N-API failures into thrown JS errors. */
#ifndef TEND_ERRORS_H
#define TEND_ERRORS_H

#include "tend.h"

/* Builds Error{code:'EPERM', errno:1, syscall, message:"syscall: EPERM: Operation not permitted"} so JS sees errors like Node's own. */
napi_value tend_errno_error(napi_env env, int err, const char *syscall);

/* Throws tend_errno_error(); returns NULL so a callback can `return tend_throw_errno(...)`. */
napi_value tend_throw_errno(napi_env env, int err, const char *syscall);

/* Throws a TypeError for an argument the TS facade should already have rejected. */
napi_value tend_throw_type(napi_env env, const char *message);

/* Throws an Error for a failed N-API call unless that call already left an exception pending. */
napi_value tend_throw_napi(napi_env env);

#endif

/* The JS side of the event-loop handles the addon keeps (signals.c, dgram.c, timer.c, child-watch.c), in one place:
 * the callback a handle calls, the async context Node's async hooks see it under, its close() (idempotent, and also
 * run at environment teardown, which waits for it), and the count of owners (the uv handle and the JS functions
 * bound to it) that decides when the handle's struct is freed. Each handle's struct has its struct tend_callback as
 * its first member, so the struct and its tend_callback share one address. */
#ifndef TEND_CALLBACK_H
#define TEND_CALLBACK_H

#include "tend.h"

#include <stdbool.h>
#include <uv.h>

struct tend_callback {
  napi_env env;
  napi_ref ref;
  napi_async_context context;
  napi_async_cleanup_hook_handle cleanup; /* holds environment teardown (and addon unloading) until the handle is closed */
  int owners;
  uv_handle_t *handle; /* the uv handle, whose data is the handle's struct */
  bool closed;
  /* What the handle undoes as it closes, given its struct, or NULL (signals.c puts dispositions back). */
  void (*before_close)(void *handle);
};

/* A zeroed handle struct of `size` bytes (its struct tend_callback first) and the loop it will live on; NULL with an
 * exception thrown. */
void *tend_callback_alloc(napi_env env, size_t size, uv_loop_t **loop);

/* A uv *_init's result: 0, or -1 with an errno exception naming `syscall` thrown and `handle` (not yet adopted)
 * freed. */
int tend_callback_inited(napi_env env, void *handle, int rc, const char *syscall);

/* A uv *_start's result for an adopted handle: `object`, or NULL with an errno exception naming `syscall` thrown and
 * the handle closed. */
napi_value tend_callback_started(struct tend_callback *cb, napi_value object, int rc, const char *syscall);

/* Makes `handle` (just initialised) the uv handle of cb's struct: its data, and the struct's first owner. */
void tend_callback_adopt(struct tend_callback *cb, uv_handle_t *handle);

/* Closes the handle (uv_close stops it first) and drops the callback; idempotent. The struct is freed once its JS
 * functions are collected too. */
void tend_callback_close(struct tend_callback *cb);

/* Calls the callback with no arguments in a handle scope of its own, unless the handle is closed. */
void tend_callback_fire(struct tend_callback *cb);

/* Sets object[name] to a JS function whose data is the handle's struct (cb, its first member); the function owns the
 * struct until it is collected. 0, or -1 (the caller throws). */
int tend_callback_method(struct tend_callback *cb, napi_value object, const char *name, napi_callback fn);

/* The JS object of a handle whose uv handle is adopted (tend_callback_adopt): keeps `callback`, opens its async
 * context named `name`, adds close() and holds environment teardown until the handle is closed. NULL with an
 * exception thrown, and the handle closed, on failure. */
napi_value tend_callback_object(struct tend_callback *cb, napi_env env, napi_value callback, const char *name);

/* The handle's struct a method was called on (its data), with its one argument in *arg unless arg is NULL; NULL with
 * an exception thrown. */
void *tend_callback_this(napi_env env, napi_callback_info info, napi_value *arg);

/* Calls the callback with argv, inside the caller's handle scope; an exception it throws becomes an ordinary
 * uncaught exception. */
void tend_callback_call(struct tend_callback *cb, size_t argc, const napi_value *argv);


#endif

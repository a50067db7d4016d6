/* The JS side of the event-loop handles the addon keeps (signals.c, dgram.c, timer.c), in one place: the callback a
 * handle calls, the async context Node's async hooks see it under, the hook that holds environment teardown until the
 * uv handle is closed, and the count of owners (the uv handle and the JS functions bound to it) that decides when the
 * handle's struct is freed. */
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
  /* Stops the handle and closes it, given the handle's struct; idempotent. The close() method and environment
   * teardown both call it. */
  void (*close)(void *handle);
};

/* Keeps `callback` for `cb` and opens its async context named `name`; 0, or -1 (the caller throws). */
int tend_callback_init(struct tend_callback *cb, napi_env env, napi_value callback, const char *name);

/* Asks Node to call cb->close at environment teardown, and to wait for the handle's close callback; 0, or -1. */
int tend_callback_hold_teardown(struct tend_callback *cb);

/* Sets object[name] to a JS function whose data is the handle's struct (cb, its first member); the function owns the
 * struct until it is collected. 0, or -1 (the caller throws). */
int tend_callback_method(struct tend_callback *cb, napi_value object, const char *name, napi_callback fn);

/* Sets object.close to the method that calls cb->close; 0, or -1 (the caller throws). */
int tend_callback_add_close(struct tend_callback *cb, napi_value object);

/* The JS object of a handle whose uv handle is initialised (its data the handle's struct, cb->owners 1, cb->close
 * set): keeps `callback`, opens its async context named `name`, adds close() and holds environment teardown. NULL
 * with an exception thrown, and the handle closed, on failure. */
napi_value tend_callback_object(struct tend_callback *cb, napi_env env, napi_value callback, const char *name);

/* The handle's struct a method was called on (its data), with its one argument in *arg unless arg is NULL; NULL with
 * an exception thrown. */
void *tend_callback_this(napi_env env, napi_callback_info info, napi_value *arg);

/* Calls the callback with argv, inside the caller's handle scope; an exception it throws becomes an ordinary
 * uncaught exception. */
void tend_callback_call(struct tend_callback *cb, size_t argc, const napi_value *argv);

/* Drops the callback and its async context: the handle is being closed. */
void tend_callback_drop(struct tend_callback *cb);

/* From the uv handle's close callback: teardown may proceed; then as tend_callback_release. */
bool tend_callback_closed(struct tend_callback *cb);

/* One owner is gone; true when it was the last, and the caller frees the handle's struct. */
bool tend_callback_release(struct tend_callback *cb);

/* For a handle's struct whose first member is its struct tend_callback, with the uv handle's data pointing at the
 * struct: uv_close's callback, and the finalizer of each JS function that owns the struct. The last owner frees it. */
void tend_callback_uv_closed(uv_handle_t *handle);
void tend_callback_finalize(napi_env env, void *data, void *hint);

#endif

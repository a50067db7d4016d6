/* The JS side of the addon's event-loop handles (callback.h). */
#include "callback.h"
#include "args.h"
#include "errors.h"

#include <errno.h>
#include <stdlib.h>

/* One owner is gone; the last one frees the handle's struct (whose first member cb is). */
static void release(struct tend_callback *cb) {
  if (--cb->owners == 0) free(cb);
}

static void on_uv_closed(uv_handle_t *handle) {
  struct tend_callback *cb = handle->data;
  if (cb->cleanup != NULL) napi_remove_async_cleanup_hook(cb->cleanup); /* teardown may proceed now */
  cb->cleanup = NULL;
  release(cb);
}

static void on_function_finalized(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  release(data);
}

void *tend_callback_alloc(napi_env env, size_t size, uv_loop_t **loop) {
  if (napi_get_uv_event_loop(env, loop) != napi_ok) {
    tend_throw_napi(env);
    return NULL;
  }
  void *handle = calloc(1, size);
  if (handle == NULL) tend_throw_errno(env, ENOMEM, "malloc");
  return handle;
}

int tend_callback_inited(napi_env env, void *handle, int rc, const char *syscall) {
  if (rc == 0) return 0;
  free(handle);
  tend_throw_errno(env, -rc, syscall);
  return -1;
}

napi_value tend_callback_started(struct tend_callback *cb, napi_value object, int rc, const char *syscall) {
  if (rc == 0) return object;
  tend_callback_close(cb);
  return tend_throw_errno(cb->env, -rc, syscall);
}

void tend_callback_adopt(struct tend_callback *cb, uv_handle_t *handle) {
  handle->data = cb;
  cb->handle = handle;
  cb->owners = 1;
}

void tend_callback_close(struct tend_callback *cb) {
  if (cb->closed) return;
  cb->closed = true;
  if (cb->before_close != NULL) cb->before_close(cb);
  if (cb->ref != NULL) napi_delete_reference(cb->env, cb->ref);
  if (cb->context != NULL) napi_async_destroy(cb->env, cb->context);
  cb->ref = NULL;
  cb->context = NULL;
  uv_close(cb->handle, on_uv_closed);
}

/* Environment teardown (a worker exits) before the handle was closed: close it now; Node waits for the close
 * callback before unloading the addon, whose code it is. */
static void on_env_teardown(napi_async_cleanup_hook_handle handle, void *arg) {
  (void)handle; /* the same as cb->cleanup */
  tend_callback_close(arg);
}

int tend_callback_method(struct tend_callback *cb, napi_value object, const char *name, napi_callback fn) {
  napi_value function;
  if (napi_create_function(cb->env, name, NAPI_AUTO_LENGTH, fn, cb, &function) != napi_ok ||
      napi_add_finalizer(cb->env, function, cb, on_function_finalized, NULL, NULL) != napi_ok)
    return -1;
  cb->owners++;
  return napi_set_named_property(cb->env, object, name, function) == napi_ok ? 0 : -1;
}

void *tend_callback_this(napi_env env, napi_callback_info info, napi_value *arg) {
  size_t argc = arg == NULL ? 0 : 1;
  void *data = NULL;
  if (napi_get_cb_info(env, info, &argc, arg, NULL, &data) != napi_ok) {
    tend_throw_napi(env);
    return NULL;
  }
  return data;
}

static napi_value close_method(napi_env env, napi_callback_info info) {
  struct tend_callback *cb = tend_callback_this(env, info, NULL);
  if (cb == NULL) return NULL;
  tend_callback_close(cb);
  return tend_undefined(env);
}

napi_value tend_callback_object(struct tend_callback *cb, napi_env env, napi_value callback, const char *name) {
  cb->env = env;
  napi_value resource, resource_name, object;
  if (napi_create_reference(env, callback, 1, &cb->ref) != napi_ok || napi_create_object(env, &resource) != napi_ok ||
      napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resource_name) != napi_ok ||
      napi_async_init(env, resource, resource_name, &cb->context) != napi_ok || napi_create_object(env, &object) != napi_ok ||
      tend_callback_method(cb, object, "close", close_method) != 0 ||
      napi_add_async_cleanup_hook(env, on_env_teardown, cb, &cb->cleanup) != napi_ok) {
    tend_throw_napi(env);
    tend_callback_close(cb);
    return NULL;
  }
  return object;
}

void tend_callback_call(struct tend_callback *cb, size_t argc, const napi_value *argv) {
  napi_env env = cb->env;
  napi_value callback, recv, result;
  /* recv must be an object: the global */
  if (napi_get_reference_value(env, cb->ref, &callback) == napi_ok && napi_get_global(env, &recv) == napi_ok)
    napi_make_callback(env, cb->context, recv, callback, argc, argv, &result);
  bool pending = false;
  napi_value exception;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending &&
      napi_get_and_clear_last_exception(env, &exception) == napi_ok)
    napi_fatal_exception(env, exception);
}

void tend_callback_fire(struct tend_callback *cb) {
  if (cb->closed) return;
  napi_handle_scope scope;
  if (napi_open_handle_scope(cb->env, &scope) != napi_ok) return;
  tend_callback_call(cb, 0, NULL);
  napi_close_handle_scope(cb->env, scope);
}

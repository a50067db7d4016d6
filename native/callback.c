/* The JS side of the addon's event-loop handles (callback.h). */
#include "callback.h"
#include "args.h"
#include "errors.h"

#include <stdlib.h>

int tend_callback_init(struct tend_callback *cb, napi_env env, napi_value callback, const char *name) {
  cb->env = env;
  napi_value resource, resource_name;
  if (napi_create_reference(env, callback, 1, &cb->ref) != napi_ok || napi_create_object(env, &resource) != napi_ok ||
      napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resource_name) != napi_ok ||
      napi_async_init(env, resource, resource_name, &cb->context) != napi_ok)
    return -1;
  return 0;
}

static void on_env_teardown(napi_async_cleanup_hook_handle handle, void *arg) {
  (void)handle; /* the same as cb->cleanup */
  struct tend_callback *cb = arg;
  cb->close(cb); /* a no-op if close() already ran; Node waits for the close callback either way */
}

int tend_callback_hold_teardown(struct tend_callback *cb) {
  return napi_add_async_cleanup_hook(cb->env, on_env_teardown, cb, &cb->cleanup) == napi_ok ? 0 : -1;
}

int tend_callback_method(struct tend_callback *cb, napi_value object, const char *name, napi_callback fn) {
  napi_value function;
  if (napi_create_function(cb->env, name, NAPI_AUTO_LENGTH, fn, cb, &function) != napi_ok ||
      napi_add_finalizer(cb->env, function, cb, tend_callback_finalize, NULL, NULL) != napi_ok)
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
  cb->close(cb);
  return tend_undefined(env);
}

int tend_callback_add_close(struct tend_callback *cb, napi_value object) {
  return tend_callback_method(cb, object, "close", close_method);
}

napi_value tend_callback_object(struct tend_callback *cb, napi_env env, napi_value callback, const char *name) {
  napi_value object;
  if (tend_callback_init(cb, env, callback, name) != 0 || napi_create_object(env, &object) != napi_ok ||
      tend_callback_add_close(cb, object) != 0 || tend_callback_hold_teardown(cb) != 0) {
    tend_throw_napi(env);
    cb->close(cb);
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

void tend_callback_drop(struct tend_callback *cb) {
  if (cb->ref != NULL) napi_delete_reference(cb->env, cb->ref);
  if (cb->context != NULL) napi_async_destroy(cb->env, cb->context);
  cb->ref = NULL;
  cb->context = NULL;
}

bool tend_callback_closed(struct tend_callback *cb) {
  if (cb->cleanup != NULL) napi_remove_async_cleanup_hook(cb->cleanup);
  cb->cleanup = NULL;
  return tend_callback_release(cb);
}

bool tend_callback_release(struct tend_callback *cb) {
  return --cb->owners == 0;
}

void tend_callback_uv_closed(uv_handle_t *handle) {
  struct tend_callback *cb = handle->data;
  if (tend_callback_closed(cb)) free(cb);
}

void tend_callback_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  if (tend_callback_release(data)) free(data);
}

/* The JS side of the addon's event-loop handles (callback.h). */
#include "callback.h"

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

int tend_callback_hold_teardown(struct tend_callback *cb, napi_async_cleanup_hook hook, void *arg) {
  return napi_add_async_cleanup_hook(cb->env, hook, arg, &cb->cleanup) == napi_ok ? 0 : -1;
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

/* errno -> JS Error mapping, shared by every file that makes system calls. */
#include "errors.h"

#include <stdio.h>
#include <string.h>

/* Symbolic name ("ENOENT") for an errno value; strerrorname_np is glibc >= 2.32. */
static const char *errno_name(int err, char *fallback, size_t size) {
  const char *name = strerrorname_np(err);
  if (name != NULL) return name;
  snprintf(fallback, size, "E%d", err);
  return fallback;
}

napi_value tend_errno_error(napi_env env, int err, const char *syscall) {
  char name_buf[16];
  const char *name = errno_name(err, name_buf, sizeof name_buf);
  const char *text = strerrordesc_np(err);
  char message[256];
  snprintf(message, sizeof message, "%s: %s: %s", syscall, name, text != NULL ? text : "Unknown error");

  napi_value code, msg, error, errno_value, syscall_value;
  if (napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code) != napi_ok ||
      napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg) != napi_ok ||
      napi_create_error(env, code, msg, &error) != napi_ok ||
      napi_create_int32(env, err, &errno_value) != napi_ok ||
      napi_set_named_property(env, error, "errno", errno_value) != napi_ok ||
      napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &syscall_value) != napi_ok ||
      napi_set_named_property(env, error, "syscall", syscall_value) != napi_ok)
    return NULL;
  return error;
}

napi_value tend_throw_errno(napi_env env, int err, const char *syscall) {
  napi_value error = tend_errno_error(env, err, syscall);
  if (error == NULL) return tend_throw_napi(env);
  napi_throw(env, error);
  return NULL;
}

napi_value tend_throw_type(napi_env env, const char *message) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
  return NULL;
}

napi_value tend_throw_napi(napi_env env) {
  /* Read the error info first: napi_is_exception_pending resets it. */
  const napi_extended_error_info *info = NULL;
  napi_get_last_error_info(env, &info);
  const char *message = info != NULL && info->error_message != NULL ? info->error_message : "N-API call failed";
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending) return NULL;
  napi_throw_error(env, "ERR_TEND_NAPI", message);
  return NULL;
}

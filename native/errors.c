/* errno -> JS Error mapping, shared by every file that makes system calls. */
#include "errors.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

/* POSIX errno values that libuv's name table (UV_ERRNO_MAP) lacks but a syscall here can return (execve gives
 * ENOEXEC, waitpid ECHILD). Everything else is named by libuv, which Node exports to addons on glibc and musl. */
static const struct {
  int err;
  const char *name;
} unmapped[] = {
    {EBADMSG, "EBADMSG"}, {ECHILD, "ECHILD"}, {EDEADLK, "EDEADLK"}, {EDOM, "EDOM"}, {EDQUOT, "EDQUOT"},
    {EIDRM, "EIDRM"}, {EINPROGRESS, "EINPROGRESS"}, {EMULTIHOP, "EMULTIHOP"}, {ENETRESET, "ENETRESET"},
    {ENOEXEC, "ENOEXEC"}, {ENOLCK, "ENOLCK"}, {ENOLINK, "ENOLINK"}, {ENOMSG, "ENOMSG"}, {ENOSR, "ENOSR"},
    {ENOSTR, "ENOSTR"}, {ENOTRECOVERABLE, "ENOTRECOVERABLE"}, {EOWNERDEAD, "EOWNERDEAD"}, {ESTALE, "ESTALE"},
    {ETIME, "ETIME"},
};

/* Fills name ("ENOENT") and text ("no such file or directory") for an errno value; "E<n>" for one nobody names. */
static void errno_describe(int err, char *name, size_t name_size, char *text, size_t text_size) {
  for (size_t i = 0; i < sizeof unmapped / sizeof unmapped[0]; i++) {
    if (unmapped[i].err != err) continue;
    snprintf(name, name_size, "%s", unmapped[i].name);
    snprintf(text, text_size, "%s", strerror(err)); /* a static string for a known errno, on glibc and musl */
    text[0] = (char)tolower((unsigned char)text[0]); /* libuv's texts are lower case, like Node's messages */
    return;
  }
  /* On Unix libuv's error codes are the negated errno values. */
  uv_err_name_r(-err, name, name_size);
  uv_strerror_r(-err, text, text_size);
  if (strncmp(name, "Unknown", 7) == 0) snprintf(name, name_size, "E%d", err);
}

napi_value tend_errno_error(napi_env env, int err, const char *syscall) {
  char name[32], text[128], message[256];
  errno_describe(err, name, sizeof name, text, sizeof text);
  snprintf(message, sizeof message, "%s: %s: %s", syscall, name, text);

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

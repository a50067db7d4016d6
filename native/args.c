/* JS <-> C value conversion so the system-call files stay about system calls. */
#include "args.h"
#include "errors.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int tend_args(napi_env env, napi_callback_info info, size_t n, napi_value *argv) {
  size_t argc = n;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) {
    tend_throw_napi(env);
    return -1;
  }
  return 0;
}

int tend_get_i32(napi_env env, napi_value value, int32_t *out) {
  if (napi_get_value_int32(env, value, out) != napi_ok) {
    tend_throw_type(env, "expected a number");
    return -1;
  }
  return 0;
}

int tend_get_i64(napi_env env, napi_value value, int64_t *out) {
  if (napi_get_value_int64(env, value, out) != napi_ok) {
    tend_throw_type(env, "expected a number");
    return -1;
  }
  return 0;
}

int tend_get_f64(napi_env env, napi_value value, double *out) {
  if (napi_get_value_double(env, value, out) != napi_ok) {
    tend_throw_type(env, "expected a number");
    return -1;
  }
  return 0;
}

int tend_get_bool(napi_env env, napi_value value, bool *out) {
  if (napi_get_value_bool(env, value, out) != napi_ok) {
    tend_throw_type(env, "expected a boolean");
    return -1;
  }
  return 0;
}

char *tend_get_string(napi_env env, napi_value value) {
  size_t length = 0;
  if (napi_get_value_string_utf8(env, value, NULL, 0, &length) != napi_ok) {
    tend_throw_type(env, "expected a string");
    return NULL;
  }
  char *buf = malloc(length + 1);
  if (buf == NULL) {
    tend_throw_errno(env, ENOMEM, "malloc");
    return NULL;
  }
  size_t copied = 0;
  if (napi_get_value_string_utf8(env, value, buf, length + 1, &copied) != napi_ok) {
    free(buf);
    tend_throw_napi(env);
    return NULL;
  }
  if (strlen(buf) != copied) {
    free(buf);
    tend_throw_type(env, "string contains a NUL character");
    return NULL;
  }
  return buf;
}

char *tend_string_arg(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (tend_args(env, info, 1, argv) != 0) return NULL;
  return tend_get_string(env, argv[0]);
}

int tend_get_prop(napi_env env, napi_value object, const char *key, napi_value *out) {
  if (napi_get_named_property(env, object, key, out) != napi_ok) {
    tend_throw_napi(env);
    return -1;
  }
  return 0;
}

int tend_get_length(napi_env env, napi_value array, uint32_t *out) {
  if (napi_get_array_length(env, array, out) != napi_ok) {
    tend_throw_type(env, "expected an array");
    return -1;
  }
  return 0;
}

bool tend_is_nullish(napi_env env, napi_value value) {
  napi_valuetype type = napi_undefined;
  if (napi_typeof(env, value, &type) != napi_ok) return false;
  return type == napi_null || type == napi_undefined;
}

napi_value tend_undefined(napi_env env) {
  napi_value v;
  return napi_get_undefined(env, &v) == napi_ok ? v : tend_throw_napi(env);
}

napi_value tend_null(napi_env env) {
  napi_value v;
  return napi_get_null(env, &v) == napi_ok ? v : tend_throw_napi(env);
}

napi_value tend_bool(napi_env env, bool value) {
  napi_value v;
  return napi_get_boolean(env, value, &v) == napi_ok ? v : tend_throw_napi(env);
}

napi_value tend_number(napi_env env, double value) {
  napi_value v;
  return napi_create_double(env, value, &v) == napi_ok ? v : tend_throw_napi(env);
}

napi_value tend_string(napi_env env, const char *value) {
  napi_value v;
  return napi_create_string_utf8(env, value, NAPI_AUTO_LENGTH, &v) == napi_ok ? v : tend_throw_napi(env);
}

static int set_prop(napi_env env, napi_value object, const char *key, napi_value value) {
  if (value == NULL) return -1;
  if (napi_set_named_property(env, object, key, value) != napi_ok) {
    tend_throw_napi(env);
    return -1;
  }
  return 0;
}

int tend_set_number(napi_env env, napi_value object, const char *key, double value) {
  return set_prop(env, object, key, tend_number(env, value));
}

int tend_set_string(napi_env env, napi_value object, const char *key, const char *value) {
  return set_prop(env, object, key, tend_string(env, value));
}

int tend_set_null(napi_env env, napi_value object, const char *key) {
  return set_prop(env, object, key, tend_null(env));
}

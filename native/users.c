/* User and group database lookups (NSS), for `user:`/`group:` in service configs. */
#include "args.h"
#include "errors.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>

/* Grows a lookup buffer; false (buffer freed) when it would become absurdly large or allocation fails. */
static bool grow(char **buf, size_t *size) {
  size_t bigger = *size ? *size * 2 : 1024;
  char *p = bigger <= (1u << 24) ? realloc(*buf, bigger) : NULL;
  if (p == NULL) return false;
  *buf = p;
  *size = bigger;
  return true;
}

/* "Not found" may be reported as an error code by some NSS modules. */
static bool not_found(int err) {
  return err == 0 || err == ENOENT || err == ESRCH;
}

static napi_value user_object(napi_env env, const struct passwd *pw) {
  napi_value user;
  if (napi_create_object(env, &user) != napi_ok) return tend_throw_napi(env);
  if (tend_set_string(env, user, "name", pw->pw_name) != 0 || tend_set_number(env, user, "uid", pw->pw_uid) != 0 ||
      tend_set_number(env, user, "gid", pw->pw_gid) != 0 || tend_set_string(env, user, "home", pw->pw_dir) != 0 ||
      tend_set_string(env, user, "shell", pw->pw_shell) != 0)
    return NULL;
  return user;
}

/* getpwnam_r / getpwuid_r with a growing buffer; name == NULL means look up by uid. */
static napi_value lookup_passwd(napi_env env, const char *name, uid_t uid) {
  struct passwd pw, *found = NULL;
  char *buf = NULL;
  size_t size = 0;
  int err = ERANGE;
  while (err == ERANGE) {
    if (!grow(&buf, &size)) {
      free(buf);
      return tend_throw_errno(env, ENOMEM, name ? "getpwnam_r" : "getpwuid_r");
    }
    err = name ? getpwnam_r(name, &pw, buf, size, &found) : getpwuid_r(uid, &pw, buf, size, &found);
  }
  napi_value result;
  if (found != NULL) result = user_object(env, &pw);
  else if (not_found(err)) result = tend_null(env);
  else result = tend_throw_errno(env, err, name ? "getpwnam_r" : "getpwuid_r");
  free(buf);
  return result;
}

/* lookupUser(name) -> {name, uid, gid, home, shell} | null: resolves `user:` in configs. */
napi_value tend_lookup_user(napi_env env, napi_callback_info info) {
  char *name = tend_string_arg(env, info);
  if (name == NULL) return NULL;
  napi_value result = lookup_passwd(env, name, 0);
  free(name);
  return result;
}

/* lookupUserById(uid) -> same | null: fills in HOME/USER/SHELL when a config names a numeric uid. */
napi_value tend_lookup_user_by_id(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int64_t uid;
  if (tend_args(env, info, 1, argv) != 0 || tend_get_i64(env, argv[0], &uid) != 0) return NULL;
  return lookup_passwd(env, NULL, (uid_t)uid);
}

/* lookupGroup(name) -> gid | null: resolves `group:` in configs. */
napi_value tend_lookup_group(napi_env env, napi_callback_info info) {
  char *name = tend_string_arg(env, info);
  if (name == NULL) return NULL;
  struct group gr, *found = NULL;
  char *buf = NULL;
  size_t size = 0;
  int err = ERANGE;
  while (err == ERANGE) {
    if (!grow(&buf, &size)) {
      err = ENOMEM;
      break;
    }
    err = getgrnam_r(name, &gr, buf, size, &found);
  }
  napi_value result;
  if (found != NULL) result = tend_number(env, gr.gr_gid);
  else if (not_found(err)) result = tend_null(env);
  else result = tend_throw_errno(env, err, "getgrnam_r");
  free(buf);
  free(name);
  return result;
}

/* groupList(user, gid) -> gids: the supplementary groups a service running as `user` should get. */
napi_value tend_group_list(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int64_t gid;
  if (tend_args(env, info, 2, argv) != 0 || tend_get_i64(env, argv[1], &gid) != 0) return NULL;
  char *user = tend_get_string(env, argv[0]);
  if (user == NULL) return NULL;

  int count = 32;
  gid_t *groups = NULL;
  napi_value result = NULL;
  for (;;) {
    gid_t *bigger = realloc(groups, (size_t)count * sizeof *groups);
    if (bigger == NULL) {
      tend_throw_errno(env, ENOMEM, "getgrouplist");
      goto out;
    }
    groups = bigger;
    int capacity = count;
    if (getgrouplist(user, (gid_t)gid, groups, &count) >= 0) break;
    if (count <= capacity) count = capacity * 2; /* -1 sets count to the size needed; be safe if it did not */
  }
  if (napi_create_array_with_length(env, (size_t)count, &result) != napi_ok) {
    result = tend_throw_napi(env);
    goto out;
  }
  for (int i = 0; i < count; i++) {
    napi_value g = tend_number(env, groups[i]);
    if (g == NULL || napi_set_element(env, result, (uint32_t)i, g) != napi_ok) {
      result = tend_throw_napi(env);
      goto out;
    }
  }
out:
  free(groups);
  free(user);
  return result;
}

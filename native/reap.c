/* Finding our children and reaping the exited ones without touching pids libuv is waiting for. */
#include "args.h"
#include "errors.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
#include <sys/wait.h>
#include <unistd.h>

struct pids {
  pid_t *items;
  size_t count, capacity;
};

static int pids_add(struct pids *list, pid_t pid) {
  if (list->count == list->capacity) {
    size_t capacity = list->capacity ? list->capacity * 2 : 64;
    pid_t *items = realloc(list->items, capacity * sizeof *items);
    if (items == NULL) return ENOMEM;
    list->items = items;
    list->capacity = capacity;
  }
  list->items[list->count++] = pid;
  return 0;
}

/* Reads a whole /proc file into *buf (grown as needed, NUL-terminated); returns 0 or errno. */
static int read_file(const char *path, char **buf, size_t *capacity) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  size_t len = 0;
  for (;;) {
    if (len + 1 >= *capacity) {
      size_t grown = *capacity ? *capacity * 2 : 4096;
      char *bigger = realloc(*buf, grown);
      if (bigger == NULL) {
        close(fd);
        return ENOMEM;
      }
      *buf = bigger;
      *capacity = grown;
    }
    ssize_t n = read(fd, *buf + len, *capacity - len - 1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      return err;
    }
    if (n == 0) break;
    len += (size_t)n;
  }
  close(fd);
  (*buf)[len] = '\0';
  return 0;
}

/* Children of every thread, from /proc/self/task/<tid>/children (orphans are reparented to any live thread). */
static int children_from_tasks(struct pids *out, char **buf, size_t *capacity) {
  DIR *dir = opendir("/proc/self/task");
  if (dir == NULL) return errno;
  int err = 0;
  struct dirent *entry;
  while (err == 0 && (entry = readdir(dir)) != NULL) {
    if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
    char path[sizeof "/proc/self/task//children" + sizeof entry->d_name];
    snprintf(path, sizeof path, "/proc/self/task/%s/children", entry->d_name);
    if (read_file(path, buf, capacity) != 0) continue; /* the thread exited meanwhile */
    for (char *p = *buf; err == 0;) {
      char *end;
      long pid = strtol(p, &end, 10); /* the file is space-separated pids */
      if (end == p) break;
      err = pids_add(out, (pid_t)pid);
      p = end;
    }
  }
  closedir(dir);
  return err;
}

/* Fallback for kernels without CONFIG_PROC_CHILDREN: every process whose ppid is us. */
static int children_from_proc_scan(struct pids *out, char **buf, size_t *capacity) {
  DIR *dir = opendir("/proc");
  if (dir == NULL) return errno;
  pid_t self = getpid();
  int err = 0;
  struct dirent *entry;
  while (err == 0 && (entry = readdir(dir)) != NULL) {
    if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
    char path[sizeof "/proc//stat" + sizeof entry->d_name];
    snprintf(path, sizeof path, "/proc/%s/stat", entry->d_name);
    if (read_file(path, buf, capacity) != 0) continue; /* exited meanwhile */
    char *after_comm = strrchr(*buf, ')'); /* comm may contain spaces and parentheses */
    char state;
    int ppid;
    if (after_comm != NULL && sscanf(after_comm + 1, " %c %d", &state, &ppid) == 2 && ppid == self)
      err = pids_add(out, (pid_t)atoi(entry->d_name));
  }
  closedir(dir);
  return err;
}

/* True when we have no child at all, alive or zombie: one waitid that reaps nothing (ECHILD), which spares the
 * /proc walk on every exit that has nothing to find. */
static bool no_children(void) {
  siginfo_t info;
  return waitid(P_ALL, 0, &info, WEXITED | WSTOPPED | WCONTINUED | WNOHANG | WNOWAIT | __WALL) != 0 && errno == ECHILD;
}

/* Lists our children (alive or zombie); 0 or errno. */
static int list_children(struct pids *out) {
  if (no_children()) return 0;
  static int have_children_file = -1;
  if (have_children_file < 0) {
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/children", (int)getpid());
    have_children_file = access(path, R_OK) == 0;
  }
  char *buf = NULL;
  size_t capacity = 0;
  int err = have_children_file ? children_from_tasks(out, &buf, &capacity) : children_from_proc_scan(out, &buf, &capacity);
  free(buf);
  return err;
}

static int compare_pids(const void *a, const void *b) {
  pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
  return (x > y) - (x < y);
}

/* listChildren() -> pids: lets tend see orphans it inherited as a subreaper or PID 1. */
napi_value tend_list_children(napi_env env, napi_callback_info info) {
  (void)info;
  struct pids children = { 0 };
  napi_value result = NULL;
  int err = list_children(&children);
  if (err != 0) {
    tend_throw_errno(env, err, "opendir");
    goto out;
  }
  if (napi_create_array_with_length(env, children.count, &result) != napi_ok) {
    result = tend_throw_napi(env);
    goto out;
  }
  for (size_t i = 0; i < children.count; i++) {
    napi_value pid = tend_number(env, children.items[i]);
    if (pid == NULL || napi_set_element(env, result, (uint32_t)i, pid) != napi_ok) {
      result = tend_throw_napi(env);
      goto out;
    }
  }
out:
  free(children.items);
  return result;
}

/* reapChildren(exclude) -> [{pid, code, signal}]: collects exited children one pid at a time, so the pids
 * libuv spawned (passed in `exclude`) are never waited for by anyone but libuv. */
napi_value tend_reap_children(napi_env env, napi_callback_info info) {
  napi_value argv[1], result = NULL;
  struct pids exclude = { 0 }, children = { 0 };
  uint32_t n;
  if (tend_args(env, info, 1, argv) != 0 || tend_get_length(env, argv[0], &n) != 0) return NULL;
  for (uint32_t i = 0; i < n; i++) {
    napi_value item;
    int32_t pid;
    if (napi_get_element(env, argv[0], i, &item) != napi_ok) {
      tend_throw_napi(env);
      goto out;
    }
    if (tend_get_i32(env, item, &pid) != 0) goto out;
    if (pids_add(&exclude, pid) != 0) {
      tend_throw_errno(env, ENOMEM, "malloc");
      goto out;
    }
  }
  qsort(exclude.items, exclude.count, sizeof *exclude.items, compare_pids);

  /* Nothing to leave to libuv: any exited child is ours, and waitpid(-1) finds them without walking /proc. */
  int err = exclude.count == 0 ? 0 : list_children(&children);
  if (err != 0) {
    tend_throw_errno(env, err, "opendir");
    goto out;
  }
  if (napi_create_array(env, &result) != napi_ok) {
    result = tend_throw_napi(env);
    goto out;
  }
  uint32_t reaped = 0;
  for (size_t i = 0; exclude.count == 0 || i < children.count; i++) {
    pid_t pid = exclude.count == 0 ? -1 : children.items[i];
    if (pid > 0 && bsearch(&pid, exclude.items, exclude.count, sizeof pid, compare_pids) != NULL) continue;
    int status;
    pid_t r;
    do r = waitpid(pid, &status, WNOHANG | __WALL);
    while (r < 0 && errno == EINTR);
    if (r <= 0 && pid == -1) break; /* none exited (0), or no children left (ECHILD) */
    if (r <= 0) continue; /* still running, or ECHILD: someone else reaped it first */
    pid = r;

    napi_value entry;
    if (napi_create_object(env, &entry) != napi_ok) {
      result = tend_throw_napi(env);
      goto out;
    }
    bool exited = WIFEXITED(status), signaled = WIFSIGNALED(status);
    if (tend_set_number(env, entry, "pid", pid) != 0 ||
        (exited ? tend_set_number(env, entry, "code", WEXITSTATUS(status)) : tend_set_null(env, entry, "code")) != 0 ||
        (signaled ? tend_set_number(env, entry, "signal", WTERMSIG(status)) : tend_set_null(env, entry, "signal")) != 0 ||
        napi_set_element(env, result, reaped++, entry) != napi_ok) {
      result = tend_throw_napi(env);
      goto out;
    }
  }
out:
  free(exclude.items);
  free(children.items);
  return result;
}

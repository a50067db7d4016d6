/* Whole-file reads for tend's start-up (src/cli/compile-cache.ts): the CLI bundle's source and its V8 code cache.
 *
 * Read through node:fs, each file is read into one buffer and then copied (the source also decoded as UTF-8) into
 * V8's heap, and the first use of fs's JavaScript is compiled on every start: together ~1 ms of a ~40 ms start on
 * this kind of machine, where every page of fresh memory costs a fault. Here the source is one read(2) into memory
 * V8 adopts as an external Latin-1 string (mapped with its pages in place: ~45 us less than letting read(2) fault
 * each fresh page in), and the cache is mapped from the page cache as an external Buffer. */
#include "args.h"
#include "errors.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The bundle is a few hundred KiB; anything past this is not a file tend wrote. */
#define MAX_FILE_SIZE (64 * 1024 * 1024)

/* Node 20.4+ exports this (N-API 10 made it stable; tend pins N-API 8). A weak reference is NULL where the Node
 * running tend has no such function, so the addon still loads there and copies instead. */
extern napi_status node_api_create_external_string_latin1(napi_env env, char *str, size_t length,
                                                          napi_finalize finalize_callback, void *finalize_hint,
                                                          napi_value *result, bool *copied)
    __attribute__((weak, visibility("default")));

/* The memory read_whole returns: anonymous pages mapped all at once (MAP_POPULATE), which read(2) then fills without
 * a fault per page. `size` is the file's size (a mapping of at least one page). */
static char *alloc_pages(size_t size) {
  void *map = mmap(NULL, size > 0 ? size : 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  return map == MAP_FAILED ? NULL : map;
}

static void free_pages(char *data, size_t size) {
  munmap(data, size > 0 ? size : 1);
}

/* V8's finalizer for an external string over alloc_pages memory; hint is the size. */
static void free_data(napi_env env, void *data, void *hint) {
  (void)env;
  free_pages(data, (size_t)hint);
}

/* fstat without binding glibc's fstat symbol, which is new in glibc 2.33 (the prebuilt must run on 2.28): the
 * kernel's own call, whose struct stat is the C library's on the 64-bit architectures tend ships prebuilt for. */
static int stat_fd(int fd, struct stat *st) {
#if defined(SYS_newfstatat) && (defined(__x86_64__) || defined(__aarch64__))
  return (int)syscall(SYS_newfstatat, fd, "", st, AT_EMPTY_PATH);
#else
  return fstat(fd, st);
#endif
}

/* Opens path and reads all of it; 0 with *data (from alloc_pages: the caller frees it with free_pages) and *st, or
 * an errno value. A file that changes size while it is read is EAGAIN: the caller's next start reads it again. */
static int read_whole(const char *path, struct stat *st, char **data) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return errno;
  int err = 0;
  char *buf = NULL;
  if (stat_fd(fd, st) != 0) err = errno;
  else if (!S_ISREG(st->st_mode)) err = EINVAL;
  else if (st->st_size > MAX_FILE_SIZE) err = EFBIG;
  else if ((buf = alloc_pages((size_t)st->st_size)) == NULL) err = ENOMEM;
  size_t size = err == 0 ? (size_t)st->st_size : 0, done = 0;
  while (err == 0 && done < size) {
    ssize_t n = read(fd, buf + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) err = errno;
    else if (n == 0) err = EAGAIN;
    else done += (size_t)n;
  }
  char extra;
  if (err == 0 && read(fd, &extra, 1) != 0) err = EAGAIN; /* grew while being read */
  close(fd);
  if (err != 0) {
    if (buf != NULL) free_pages(buf, (size_t)st->st_size);
    return err;
  }
  *data = buf;
  return 0;
}

static void unmap_data(napi_env env, void *data, void *hint) {
  (void)env;
  munmap(data, (size_t)hint);
}

/* An external Latin-1 string over data (which it then owns), or a copy where this Node has no external strings. */
static napi_value latin1_string(napi_env env, char *data, size_t length) {
  napi_value result;
  bool copied;
  /* On success V8 owns data: freed by the finalizer, at once if Node copied it after all. */
  if (node_api_create_external_string_latin1 != NULL && length > 0 &&
      node_api_create_external_string_latin1(env, data, length, free_data, (void *)length, &result, &copied) == napi_ok)
    return result;
  napi_status status = napi_create_string_latin1(env, data, length, &result);
  free_pages(data, length);
  return status == napi_ok ? result : tend_throw_napi(env);
}

/* readLatin1File(path) -> {text, ino, size, mtimeMs}: the whole file as a Latin-1 string (the CLI bundle, which is
 * ASCII), and the identity a code cache entry is keyed by. Throws an errno error. */
napi_value tend_read_latin1_file(napi_env env, napi_callback_info info) {
  char *path = tend_string_arg(env, info);
  if (path == NULL) return NULL;
  struct stat st;
  char *data = NULL;
  int err = read_whole(path, &st, &data);
  free(path);
  if (err != 0) return tend_throw_errno(env, err, "read");
  napi_value result, text = latin1_string(env, data, (size_t)st.st_size);
  if (text == NULL) return NULL;
  double mtime_ms = (double)st.st_mtim.tv_sec * 1e3 + (double)st.st_mtim.tv_nsec / 1e6;
  if (napi_create_object(env, &result) != napi_ok || napi_set_named_property(env, result, "text", text) != napi_ok)
    return tend_throw_napi(env);
  if (tend_set_number(env, result, "ino", (double)st.st_ino) != 0 || tend_set_number(env, result, "size", (double)st.st_size) != 0 ||
      tend_set_number(env, result, "mtimeMs", mtime_ms) != 0)
    return NULL;
  return result;
}

/* readOwnFile(path) -> Buffer | null: the whole file, if it is a regular file of this user's (effective uid) that
 * nobody else can write, else null (also when it does not exist or is empty). A code cache is compiled code tend will run: one
 * another user could have written is never read. Other failures throw an errno error. The Buffer maps the file
 * (private, so writes to it stay in this process): V8 reads a code cache once, while it compiles, and tend's cache
 * files are only ever replaced by rename, never rewritten in place. */
napi_value tend_read_own_file(napi_env env, napi_callback_info info) {
  char *path = tend_string_arg(env, info);
  if (path == NULL) return NULL;
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  int err = fd < 0 ? errno : 0;
  free(path);
  if (err == ENOENT || err == ENOTDIR) return tend_null(env);
  if (err != 0) return tend_throw_errno(env, err, "open");
  struct stat st;
  if (stat_fd(fd, &st) != 0) {
    err = errno;
    close(fd);
    return tend_throw_errno(env, err, "fstat");
  }
  if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0 || st.st_size == 0 ||
      st.st_size > MAX_FILE_SIZE) {
    close(fd);
    return tend_null(env);
  }
  size_t size = (size_t)st.st_size;
  /* Not MAP_POPULATE: V8 reads each page once, and a read fault maps the page cache's own pages (16 at a time),
   * where populating a writable private mapping copies every page (~50 us more for a 240 kB cache). */
  void *map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  err = map == MAP_FAILED ? errno : 0;
  close(fd);
  if (err != 0) return tend_throw_errno(env, err, "mmap");
  napi_value result;
  if (napi_create_external_buffer(env, size, map, unmap_data, (void *)size, &result) == napi_ok) return result;
  /* Node built with V8's sandbox has no external buffers. */
  napi_status status = napi_create_buffer_copy(env, size, map, NULL, &result);
  munmap(map, size);
  return status == napi_ok ? result : tend_throw_napi(env);
}

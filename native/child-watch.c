/* SIGCHLD on the event loop through libuv's own signal handling, without Node's: a first process.on('SIGCHLD')
 * costs ~75-90 µs of Node's JavaScript on every start (its signal module, a Signal wrap), and tend's reaper needs it
 * on every run. libuv keeps one process-wide handler per signal and calls every watcher of it, so this watcher and
 * the one libuv starts for child_process's children both see every SIGCHLD. */
#include "args.h"
#include "callback.h"
#include "errors.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <uv.h>

struct child_watch {
  struct tend_callback js; /* first: owners are the uv handle and the JS close function; freed when both are gone */
  uv_signal_t handle;
  bool stopped;
};

static void stop(void *handle) {
  struct child_watch *w = handle;
  if (w->stopped) return;
  w->stopped = true;
  uv_signal_stop(&w->handle);
  tend_callback_drop(&w->js);
  uv_close((uv_handle_t *)&w->handle, tend_callback_uv_closed);
}

static void on_child(uv_signal_t *handle, int signo) {
  (void)signo;
  struct child_watch *w = handle->data;
  if (w->stopped) return;
  napi_handle_scope scope;
  if (napi_open_handle_scope(w->js.env, &scope) != napi_ok) return;
  tend_callback_call(&w->js, 0, NULL); /* an exception in onChild becomes an ordinary uncaught exception */
  napi_close_handle_scope(w->js.env, scope);
}

/* childSignalWatch(onChild) -> {close}: calls onChild() on the event loop after each SIGCHLD (signals may merge, as
 * SIGCHLD does). Like Node's own signal listeners, it does not keep the loop alive. */
napi_value tend_child_signal_watch(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (tend_args(env, info, 1, argv) != 0) return NULL;
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return tend_throw_napi(env);
  struct child_watch *w = calloc(1, sizeof *w);
  if (w == NULL) return tend_throw_errno(env, ENOMEM, "malloc");
  int rc = uv_signal_init(loop, &w->handle);
  if (rc != 0) {
    free(w);
    return tend_throw_errno(env, -rc, "uv_signal_init");
  }
  w->handle.data = w;
  w->js.owners = 1; /* the handle; the close function becomes the second owner below */
  w->js.close = stop;
  uv_unref((uv_handle_t *)&w->handle);

  napi_value handle = tend_callback_object(&w->js, env, argv[0], "tend:childSignalWatch");
  if (handle == NULL) return NULL;
  rc = uv_signal_start(&w->handle, on_child, SIGCHLD);
  if (rc != 0) {
    stop(w);
    return tend_throw_errno(env, -rc, "uv_signal_start");
  }
  return handle;
}

/* Module entry point: registers the C functions on the exports object and does nothing else. Each function costs
 * ~4 µs to create when Node loads the addon, so it creates only those every start uses (a plain `tend run`, the
 * start-up loader); the rest are created by more(), on first use (src/os/native.ts). */
#include "tend.h"

#define FN(name, cb) { name, NULL, cb, NULL, NULL, NULL, napi_enumerable, NULL }
#define COUNT(table) (sizeof table / sizeof table[0])

static const napi_property_descriptor rest[] = {
  FN("getrlimit", tend_getrlimit),
  FN("rlimitResources", tend_rlimit_resources),
  FN("isChildSubreaper", tend_is_child_subreaper),
  FN("setrlimit", tend_setrlimit),
  FN("lookupUser", tend_lookup_user),
  FN("lookupUserById", tend_lookup_user_by_id),
  FN("lookupGroup", tend_lookup_group),
  FN("groupList", tend_group_list),
  FN("dgramSocketPair", tend_dgram_socket_pair),
  FN("dgramBind", tend_dgram_bind),
  FN("dgramSend", tend_dgram_send),
  FN("dgramWatch", tend_dgram_watch),
  FN("listenTcp", tend_listen_tcp),
  FN("listenUnix", tend_listen_unix),
  FN("socketPort", tend_socket_port),
  FN("closeFd", tend_close_fd),
  FN("pipe", tend_pipe),
  FN("socketAddress", tend_socket_address),
  FN("setCloexec", tend_set_cloexec),
  FN("peerCredentials", tend_peer_credentials),
  FN("ipcSocketPair", tend_ipc_socket_pair),
  FN("ipcSend", tend_ipc_send),
  FN("setNonblocking", tend_set_nonblocking),
};

/* more(): defines the rest on the exports object it is called on; a second call finds them there and does nothing. */
static napi_value tend_more(napi_env env, napi_callback_info info) {
  napi_value self;
  bool defined = false;
  if (napi_get_cb_info(env, info, NULL, NULL, &self, NULL) != napi_ok) return NULL;
  if (napi_has_named_property(env, self, rest[0].utf8name, &defined) != napi_ok) return NULL;
  if (!defined && napi_define_properties(env, self, COUNT(rest), rest) != napi_ok) return NULL;
  return self;
}

static const napi_property_descriptor startup[] = {
  FN("spawn", tend_spawn),
  FN("reapChildren", tend_reap_children),
  FN("listChildren", tend_list_children),
  FN("setChildSubreaper", tend_set_child_subreaper),
  FN("changedLimits", tend_changed_limits),
  FN("tcgetpgrp", tend_tcgetpgrp),
  FN("tcsetpgrp", tend_tcsetpgrp),
  FN("getpgrp", tend_getpgrp),
  FN("ignoreSignal", tend_ignore_signal),
  FN("signalWatch", tend_signal_watch),
  FN("childSignalWatch", tend_child_signal_watch),
  FN("realtimeSignalRange", tend_realtime_signal_range),
  FN("kill", tend_kill),
  FN("timer", tend_timer),
  FN("readLatin1File", tend_read_latin1_file),
  FN("readOwnFile", tend_read_own_file),
  FN("exitNow", tend_exit_now),
  FN("more", tend_more),
};

/* Called by Node when the addon is loaded (also from worker threads). */
NAPI_MODULE_INIT() {
  if (napi_define_properties(env, exports, COUNT(startup), startup) != napi_ok)
    return NULL;
  return exports;
}

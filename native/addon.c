/* Module entry point: registers the C functions on the exports object and does nothing else. */
#include "tend.h"

#define FN(name, cb) { name, NULL, cb, NULL, NULL, NULL, napi_enumerable, NULL }

static const napi_property_descriptor functions[] = {
  FN("spawn", tend_spawn),
  FN("environ", tend_environ),
  FN("reapChildren", tend_reap_children),
  FN("listChildren", tend_list_children),
  FN("setChildSubreaper", tend_set_child_subreaper),
  FN("isChildSubreaper", tend_is_child_subreaper),
  FN("getrlimit", tend_getrlimit),
  FN("setrlimit", tend_setrlimit),
  FN("rlimitResources", tend_rlimit_resources),
  FN("tcgetpgrp", tend_tcgetpgrp),
  FN("tcsetpgrp", tend_tcsetpgrp),
  FN("getpgrp", tend_getpgrp),
  FN("ignoreSignal", tend_ignore_signal),
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
  FN("signalWatch", tend_signal_watch),
  FN("childSignalWatch", tend_child_signal_watch),
  FN("realtimeSignalRange", tend_realtime_signal_range),
  FN("kill", tend_kill),
  FN("timer", tend_timer),
  FN("ipcSocketPair", tend_ipc_socket_pair),
  FN("ipcSend", tend_ipc_send),
  FN("setNonblocking", tend_set_nonblocking),
  FN("readLatin1File", tend_read_latin1_file),
  FN("readOwnFile", tend_read_own_file),
};

/* Called by Node when the addon is loaded (also from worker threads). */
NAPI_MODULE_INIT() {
  if (napi_define_properties(env, exports, sizeof functions / sizeof functions[0], functions) != napi_ok)
    return NULL;
  return exports;
}

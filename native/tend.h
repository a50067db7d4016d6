/* Shared header: pins the N-API version and declares every JS-callable function, grouped by the file that defines it. */
#ifndef TEND_H
#define TEND_H

#define NAPI_VERSION 8
#include <node_api.h>

/* spawn.c */
napi_value tend_spawn(napi_env env, napi_callback_info info);

/* reap.c */
napi_value tend_reap_children(napi_env env, napi_callback_info info);
napi_value tend_list_children(napi_env env, napi_callback_info info);

/* exit.c */
napi_value tend_exit_now(napi_env env, napi_callback_info info);

/* subreaper.c */
napi_value tend_set_child_subreaper(napi_env env, napi_callback_info info);
napi_value tend_is_child_subreaper(napi_env env, napi_callback_info info);

/* rlimit.c */
napi_value tend_getrlimit(napi_env env, napi_callback_info info);
napi_value tend_setrlimit(napi_env env, napi_callback_info info);
napi_value tend_rlimit_resources(napi_env env, napi_callback_info info);
napi_value tend_changed_limits(napi_env env, napi_callback_info info);

/* tty.c */
napi_value tend_tcgetpgrp(napi_env env, napi_callback_info info);
napi_value tend_tcsetpgrp(napi_env env, napi_callback_info info);
napi_value tend_getpgrp(napi_env env, napi_callback_info info);
napi_value tend_ignore_signal(napi_env env, napi_callback_info info);

/* users.c */
napi_value tend_lookup_user(napi_env env, napi_callback_info info);
napi_value tend_lookup_user_by_id(napi_env env, napi_callback_info info);
napi_value tend_lookup_group(napi_env env, napi_callback_info info);
napi_value tend_group_list(napi_env env, napi_callback_info info);

/* dgram.c */
napi_value tend_dgram_socket_pair(napi_env env, napi_callback_info info);
napi_value tend_dgram_bind(napi_env env, napi_callback_info info);
napi_value tend_dgram_send(napi_env env, napi_callback_info info);
napi_value tend_dgram_watch(napi_env env, napi_callback_info info);

/* listen.c */
napi_value tend_listen_tcp(napi_env env, napi_callback_info info);
napi_value tend_listen_unix(napi_env env, napi_callback_info info);
napi_value tend_socket_port(napi_env env, napi_callback_info info);

/* fd.c */
napi_value tend_close_fd(napi_env env, napi_callback_info info);
napi_value tend_pipe(napi_env env, napi_callback_info info);

/* sockname.c */
napi_value tend_socket_address(napi_env env, napi_callback_info info);
napi_value tend_set_cloexec(napi_env env, napi_callback_info info);

/* peercred.c */
napi_value tend_peer_credentials(napi_env env, napi_callback_info info);

/* files.c */
napi_value tend_read_latin1_file(napi_env env, napi_callback_info info);
napi_value tend_read_own_file(napi_env env, napi_callback_info info);

/* signals.c */
napi_value tend_signal_watch(napi_env env, napi_callback_info info);
napi_value tend_child_signal_watch(napi_env env, napi_callback_info info);
napi_value tend_realtime_signal_range(napi_env env, napi_callback_info info);
napi_value tend_kill(napi_env env, napi_callback_info info);

/* timer.c */
napi_value tend_timer(napi_env env, napi_callback_info info);

/* ipc.c */
napi_value tend_ipc_socket_pair(napi_env env, napi_callback_info info);
napi_value tend_ipc_send(napi_env env, napi_callback_info info);
napi_value tend_set_nonblocking(napi_env env, napi_callback_info info);

#endif

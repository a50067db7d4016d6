# Native layer of tend: the N-API addon (plain C) and the launcher that runs before Node.
{
  "target_defaults": {
    "defines": ["_GNU_SOURCE"],
    "cflags": ["-Wall", "-Wextra", "-Werror", "-std=gnu11"]
  },
  "targets": [
    {
      # The addon, loaded by src/os/native.ts from build/Release/tend_native.node.
      "target_name": "tend_native",
      "type": "loadable_module",
      "product_extension": "node",
      # Only napi_register_module_v1 is exported (as the prebuilt is built): calls between the addon's own files
      # then bind at link time, not by a lookup through every loaded library's symbol table at run time (each lookup
      # touches pages of node's own symbol tables: ~0.1 MB of start-up memory over the addon's helpers).
      "cflags": ["-fvisibility=hidden"],
      "sources": [
        "native/addon.c",
        "native/args.c",
        "native/callback.c",
        "native/child-watch.c",
        "native/dgram.c",
        "native/errors.c",
        "native/exit.c",
        "native/fd.c",
        "native/files.c",
        "native/ipc.c",
        "native/listen.c",
        "native/peercred.c",
        "native/reap.c",
        "native/rlimit.c",
        "native/sockaddr.c",
        "native/sockname.c",
        "native/signals.c",
        "native/spawn.c",
        "native/subreaper.c",
        "native/timer.c",
        "native/tty.c",
        "native/users.c"
      ]
    },
    {
      # bin/tend execs this, which records the inherited rlimits and then execs Node.
      "target_name": "tend-launcher",
      "type": "executable",
      "sources": ["native/launcher.c"]
    }
  ]
}

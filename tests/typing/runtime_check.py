"""Run usage.py with ``assert_type`` checking values: ``python runtime_check.py usage.py``.

Type checkers read ``assert_type(value, T)`` as "the checker infers exactly T"; here it also
checks that ``value`` is a T at run time (classes, ``None``, ``Optional``/``Union``,
``List[X]``, ``Tuple[...]``), so the types the stubs promise are the types both twins return.
Prints the number of call sites checked; every ``assert_type`` call outside a function must
run at least once.
"""

import ast
import runpy
import sys
import types
import typing

try:
    import typing_extensions
except ImportError:
    # usage.py takes assert_type from typing_extensions before Python 3.11; the test extra
    # does not install it, and only assert_type is needed here.
    typing_extensions = types.ModuleType("typing_extensions")
    sys.modules["typing_extensions"] = typing_extensions


def is_instance(value, expected):
    if expected is None or expected is type(None):
        return value is None
    origin = typing.get_origin(expected)
    args = typing.get_args(expected)
    if origin is typing.Union or type(expected).__name__ == "UnionType":
        return any(is_instance(value, arg) for arg in args)
    if origin is list:
        return type(value) is list and all(is_instance(item, args[0]) for item in value)
    if origin is tuple:
        if not isinstance(value, tuple):
            return False
        if len(args) == 2 and args[1] is Ellipsis:
            return all(is_instance(item, args[0]) for item in value)
        return len(value) == len(args) and all(is_instance(v, a) for v, a in zip(value, args))
    if origin is typing.Literal:
        return value in args
    if isinstance(expected, type):
        return isinstance(value, expected)
    raise TypeError("runtime_check cannot check %r" % (expected,))


checked = set()  # line numbers of the assert_type calls that ran


def assert_type(value, expected):
    if not is_instance(value, expected):
        raise AssertionError("%r is not a %r" % (value, expected))
    checked.add(sys._getframe(1).f_lineno)
    return value


def expected_calls(source):
    """Lines of the assert_type calls outside function bodies (run when the module runs)."""
    lines = set()
    stack = [ast.parse(source)]
    while stack:
        node = stack.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            if isinstance(child, ast.Call) and getattr(child.func, "id", None) == "assert_type":
                lines.add(child.lineno)
            stack.append(child)
    return lines


def main(path):
    typing.assert_type = assert_type
    typing_extensions.assert_type = assert_type
    with open(path, encoding="utf-8") as f:
        want = expected_calls(f.read())
    runpy.run_path(path, run_name="__main__")
    import wscodec

    if checked != want:
        raise AssertionError("assert_type calls that never ran, lines: %s" % sorted(want - checked))
    print("%d types checked at run time (%s twin)" % (len(checked), wscodec.IMPLEMENTATION))


if __name__ == "__main__":
    main(sys.argv[1])

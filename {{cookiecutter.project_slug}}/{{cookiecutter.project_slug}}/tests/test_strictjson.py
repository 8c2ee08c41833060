"""strictjson's nesting limit: what counts as a level, what the check costs, and that the decoder never sees more."""

import sys

import pytest

from {{ cookiecutter.project_slug }} import strictjson
from {{ cookiecutter.project_slug }}.strictjson import MAX_DEPTH, InvalidJSON


def nested(depth):
    return "[" * depth + "]" * depth


def test_nesting_up_to_the_limit_is_accepted_and_one_level_more_is_not():
    assert strictjson.loads(nested(MAX_DEPTH)) is not None
    assert strictjson.loads('{"a": ' * (MAX_DEPTH - 1) + "[]" + "}" * (MAX_DEPTH - 1))
    for text in [nested(MAX_DEPTH + 1), nested(100_000), '{"a": ' * MAX_DEPTH + "[]" + "}" * MAX_DEPTH]:
        with pytest.raises(InvalidJSON, match=f"nested deeper than {MAX_DEPTH} levels"):
            strictjson.loads(text)


def test_the_decoder_never_sees_nesting_past_the_limit(monkeypatch):
    # It recurses once per level in C: on a small thread stack Python 3.12+ runs out of stack before its recursion
    # limit and the process dies (9,000 levels in a thread of 1 MiB on 3.13), where an error would be caught.
    class Refusing:
        def decode(self, text):
            raise AssertionError("the decoder was given nesting past MAX_DEPTH")

    monkeypatch.setattr(strictjson, "DECODER", Refusing())
    deep = [nested(MAX_DEPTH + 1), nested(100_000), '[{"a": ' * 60 + "1" + "}]" * 60, '["]", ' + nested(101) + "]"]
    for text in [*deep, "[" * 100_000 + "é"]:
        with pytest.raises(InvalidJSON, match=f"nested deeper than {MAX_DEPTH} levels"):
            strictjson.loads(text)


def test_brackets_inside_strings_are_not_levels():
    assert strictjson.loads('["' + "[{" * 5_000 + '"]') == ["[{" * 5_000]
    deepest = nested(MAX_DEPTH - 1)
    assert strictjson.loads('["\\"[[", ' + deepest + "]") == ['"[[', strictjson.loads(deepest)]
    assert strictjson.loads("[" + ", ".join(["[]"] * 5_000) + "]") == [[]] * 5_000  # wide, not deep


def lines_run(function, *args):
    """How many lines of Python `function(*args)` runs (sys.settrace): a count of work that cannot flake."""
    count = 0

    def trace(frame, event, arg):
        nonlocal count
        if event == "line":
            count += 1
        return trace

    sys.settrace(trace)
    try:
        function(*args)
    finally:
        sys.settrace(None)
    return count


def test_the_nesting_check_costs_no_python_work_per_character():
    # A frame of brackets inside a string was scanned character by character in Python: 36 ms for 1 MiB, all of
    # it stalling the event loop every other socket of the process shares.
    short, long = ('"' + "[" * size + '"' for size in (MAX_DEPTH + 1, 20_000))
    assert lines_run(strictjson.loads, long) == lines_run(strictjson.loads, short)

"""strictjson's nesting limit: what counts as a level, what the check costs, and that the decoder never sees more;
and that dumps() writes and refuses what json.dumps(allow_nan=False) does."""

import json
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from {{ cookiecutter.project_slug }} import strictjson
from {{ cookiecutter.project_slug }}.strictjson import MAX_DEPTH, InvalidJSON
from {{ cookiecutter.project_slug }}.tests.strategies import json_values


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


class Unserializable:
    pass


circular: list[object] = []
circular.append(circular)


def outcome(dumps, value):
    """What dumps(value) gives: its text, or the type and message of the ValueError or TypeError it raises."""
    try:
        return dumps(value)
    except (ValueError, TypeError) as error:
        return type(error), str(error)


def stdlib_dumps(value):
    return json.dumps(value, allow_nan=False)


@settings(max_examples=300, deadline=None)
@given(json_values | st.tuples(json_values, st.integers()) | st.dictionaries(st.integers() | st.booleans(), st.text()))
def test_dumps_writes_and_refuses_what_json_dumps_does(value):
    # dumps calls the stdlib's C encoder itself: an interpreter that changed it would show here.
    assert outcome(strictjson.dumps, value) == outcome(stdlib_dumps, value)


@pytest.mark.parametrize("value", [float("nan"), [1, float("inf")], {"a": -float("inf")}, circular, Unserializable()])
def test_dumps_refuses_what_json_dumps_refuses_with_the_same_error(value):
    refused = outcome(stdlib_dumps, value)
    assert isinstance(refused, tuple), refused
    assert outcome(strictjson.dumps, value) == refused


def test_dumps_skips_the_python_wrapper_of_the_c_encoder_and_keeps_it_as_a_fallback(monkeypatch):
    # JSONEncoder.encode() cost more than encoding a small frame (python/cpython#150820).
    assert strictjson.make_c_encoder is not None, "this interpreter has no json C accelerator: see strictjson.py"
    frame = {"message": "héllo", "n": [1, 2.5, None, True]}
    monkeypatch.setattr(strictjson.ENCODER, "encode", lambda value: pytest.fail("went through JSONEncoder.encode()"))
    assert strictjson.dumps(frame) == json.dumps(frame)
    monkeypatch.undo()
    monkeypatch.setattr(strictjson, "make_c_encoder", None)
    assert strictjson.dumps(frame) == json.dumps(frame)
    with pytest.raises(ValueError, match="Circular reference"):
        strictjson.dumps(circular)

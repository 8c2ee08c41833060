"""JSON from clients, parsed so that any text gives a value or one InvalidJSON: never another exception.

Python's json.loads lets client input raise more than JSONDecodeError: RecursionError for deeply nested arrays,
ValueError for an integer of more than 4,300 digits. It also accepts what JSON does not allow (NaN, Infinity,
1e999 read as infinity) and lone surrogates (`"\\ud800"`), which the Redis layer cannot encode and browsers
cannot read back. loads() turns all of these into InvalidJSON, whose message can be shown to the client.
A key given twice in one object is accepted, as JSON allows, and its last value kept: the contracts' parser
(pydantic's) keeps the last one too, which tests/test_contracts.py checks.
Used by every JSON consumer (consumers.JsonConsumer) and every view that parses a JSON body.
"""

import json
import math
import re
from collections.abc import Callable
from typing import Any

# Deeper than any frame an app needs, well below Python's recursion limit (json.loads recurses per level).
MAX_DEPTH = 100
TOO_DEEP = f"JSON nested deeper than {MAX_DEPTH} levels is not accepted."
# The nesting check's steps (too_deep): a JSON string (escapes included); the ASCII characters but brackets, and
# runs of any others; an innermost pair, matched in one pass so that pairs it leaves behind wait for the next.
STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
ASCII_BUT_BRACKETS = dict.fromkeys(code for code in range(128) if chr(code) not in "[]{}")
NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
EMPTY_PAIR = re.compile(r"\[\]|\{\}")
LEVELS_TAKEN_OFF = 3


class InvalidJSON(ValueError):
    """The text is not JSON this project accepts; str(error) says why, in a sentence for the client."""


def reject_constant(name):
    raise InvalidJSON(f"{name} is not JSON: send numbers as finite values.")


def finite_float(text):
    value = float(text)
    if not math.isfinite(value):
        raise InvalidJSON(f"The number {text[:20]} is too large.")
    return value


def loads(text: str | bytes) -> Any:
    """The value of the JSON document `text` (str or UTF-8 bytes); raises InvalidJSON for anything else."""
    if isinstance(text, bytes | bytearray):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidJSON("The body is not UTF-8 text.") from None
    check_depth(text)
    try:
        value = DECODER.decode(text)
    except InvalidJSON:
        raise
    except json.JSONDecodeError as error:
        raise InvalidJSON(f"Malformed JSON: {error.msg} at position {error.pos}.") from None
    except (ValueError, RecursionError) as error:
        # ValueError: an integer beyond Python's int/str conversion limit (4,300 digits).
        raise InvalidJSON(f"Unreadable JSON: {str(error).split(':')[0]}.") from None
    if "\\u" in text and has_lone_surrogate(value):
        raise InvalidJSON("The JSON holds a lone surrogate (\\ud800-\\udfff without its pair): not valid Unicode.")
    return value


def check_depth(text: str) -> None:
    """Raises InvalidJSON if `text` opens more than MAX_DEPTH arrays or objects inside one another (too_deep());
    JsonConsumer also runs it before a decode_json override, whose recursive decoder could fail on such a text."""
    # A text of MAX_DEPTH characters or fewer cannot hold more brackets than that: most frames skip the count.
    if len(text) > MAX_DEPTH and text.count("[") + text.count("{") > MAX_DEPTH and too_deep(text):
        raise InvalidJSON(TOO_DEEP)


def too_deep(text):
    """Whether `text` opens more than MAX_DEPTH arrays or objects inside one another (brackets in strings do not
    count). Checked before parsing: the decoder recurses once per level, in C, and on a small thread stack
    (musl's, a lowered `ulimit -s`) Python 3.12+ can run out of stack before its recursion limit, which kills
    the process. C code does the work per character: it drops the strings, then everything but brackets, then
    each empty pair (every branch's innermost level) a few times over, so that the loop below runs only over
    what is left, little for anything but a deep document."""
    brackets = STRING.sub("", text).translate(ASCII_BUT_BRACKETS)
    if not brackets.isascii():
        brackets = NOT_BRACKETS.sub("", brackets)  # characters JSON allows only in strings: the decoder refuses them
    depth = 0  # the levels taken off every branch so far
    while depth < LEVELS_TAKEN_OFF:
        shorter = EMPTY_PAIR.sub("", brackets)
        if len(shorter) == len(brackets):
            break
        brackets, depth = shorter, depth + 1
    for bracket in brackets:
        if bracket in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return True
        else:
            depth -= 1
    return False


def has_lone_surrogate(value):
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def dumps(value: Any) -> str:
    """`value` as JSON text, as json.dumps(value, allow_nan=False) writes it: ValueError rather than NaN or Infinity
    (clients cannot parse them) or for a circular reference, TypeError for a value JSON has no form for."""
    if make_c_encoder is None:  # the stdlib's own path
        return ENCODER.encode(value)
    # A fresh `markers` dict for each call, as JSONEncoder.iterencode() passes: it is how circular references are found.
    return "".join(make_c_encoder({}, *C_ENCODER_OPTIONS)(value, 0))


# Made once: json.loads() and json.dumps() with any option build a new decoder or encoder for every call.
DECODER = json.JSONDecoder(parse_constant=reject_constant, parse_float=finite_float)
ENCODER = json.JSONEncoder(allow_nan=False)

# The stdlib's C encoder, called without JSONEncoder.encode()'s Python wrapper, which costs more than encoding a
# small frame (python/cpython#150820 trims it in Python 3.15): 1.7 -> 1.2 us per frame on 3.11, 1.9 -> 1.25 on 3.13.
# json.encoder.c_make_encoder is undocumented; its arguments are the ones JSONEncoder.iterencode() passes it, from
# ENCODER. tests/test_strictjson.py compares the output with json.dumps() and fails on an interpreter that drops or
# changes it: then go back to ENCODER.encode() alone.
make_c_encoder: Callable[..., Any] | None = getattr(json.encoder, "c_make_encoder", None)  # None: no C accelerator
C_ENCODER_OPTIONS = (
    ENCODER.default,
    json.encoder.encode_basestring_ascii,  # ensure_ascii=True
    None,  # indent
    ENCODER.key_separator,
    ENCODER.item_separator,
    ENCODER.sort_keys,
    ENCODER.skipkeys,
    ENCODER.allow_nan,
)

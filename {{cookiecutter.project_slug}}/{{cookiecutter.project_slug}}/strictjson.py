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
from typing import Any

# Deeper than any frame an app needs, well below Python's recursion limit (json.loads recurses per level).
MAX_DEPTH = 100
TOO_DEEP = f"JSON nested deeper than {MAX_DEPTH} levels is not accepted."


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
    try:
        value = DECODER.decode(text)
    except InvalidJSON:
        raise
    except json.JSONDecodeError as error:
        raise InvalidJSON(f"Malformed JSON: {error.msg} at position {error.pos}.") from None
    except RecursionError:
        # The decoder recurses once per level, in C, up to the interpreter's limit: it gives up safely there.
        raise InvalidJSON(TOO_DEEP) from None
    except ValueError as error:
        # An integer beyond Python's int/str conversion limit (4,300 digits).
        raise InvalidJSON(f"Unreadable JSON: {str(error).split(':')[0]}.") from None
    if text.count("[") + text.count("{") > MAX_DEPTH and too_deep(value):
        raise InvalidJSON(TOO_DEEP)
    if "\\u" in text and has_lone_surrogate(value):
        raise InvalidJSON("The JSON holds a lone surrogate (\\ud800-\\udfff without its pair): not valid Unicode.")
    return value


def too_deep(value):
    """Whether `value` holds lists or dicts inside one another more than MAX_DEPTH levels deep. It walks the
    parsed containers, never the text: a long string full of brackets costs nothing here."""
    pending = [(value, 1)] if isinstance(value, dict | list) else []
    while pending:
        item, depth = pending.pop()
        if depth > MAX_DEPTH:
            return True
        children = item.values() if isinstance(item, dict) else item
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
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
    """`value` as JSON text; raises ValueError rather than write NaN or Infinity, which clients cannot parse."""
    return ENCODER.encode(value)


# Made once: json.loads() and json.dumps() with any option build a new decoder or encoder for every call.
DECODER = json.JSONDecoder(parse_constant=reject_constant, parse_float=finite_float)
ENCODER = json.JSONEncoder(allow_nan=False)

"""Hypothesis strategies for the JSON values clients send and consumers write (test_fuzz, test_strictjson)."""

from hypothesis import strategies as st

# NaN and Infinity included: JSON has no form for them, and what the project does with them is under test.
scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)

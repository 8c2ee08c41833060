"""layers/: the one answer to "is the layer in-memory?", and the library minors its patches are written for."""

import pytest

from {{ cookiecutter.project_slug }} import checks
from {{ cookiecutter.project_slug }}.layers import PATCHED_MINORS, is_in_memory
from {{ cookiecutter.project_slug }}.settings import channel_layers_for


def test_the_installed_channels_and_channels_redis_are_the_minors_the_patches_are_written_for():
    # Fails loudly on an upgrade: check each patch in layers/ against the new release, then move the pins.
    assert {name: checks.installed_minor(name) for name in PATCHED_MINORS} == PATCHED_MINORS
    assert checks.library_problems() == []


def test_another_minor_is_an_error_naming_both_releases(monkeypatch):
    monkeypatch.setattr(checks, "installed_minor", lambda name: "9.1" if name == "channels-redis" else "4.3")
    [error] = checks.library_problems()
    assert error.id == "layers.E001"
    assert "channels-redis 9.1 is installed" in error.msg and "channels-redis 4.3" in error.msg


@pytest.mark.parametrize(
    ("layers", "expected"),
    [
        (channel_layers_for([]), True),
        ({"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}, True),
        (channel_layers_for(["redis://127.0.0.1:6379/0"]), False),
        ({}, False),
    ],
)
def test_is_in_memory(settings, layers, expected):
    settings.CHANNEL_LAYERS = layers
    assert is_in_memory() is expected

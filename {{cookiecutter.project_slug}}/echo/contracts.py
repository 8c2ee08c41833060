"""The messages of the echo sockets (their consumers' `contract`): text for the raw and sync ones, any JSON for
the JSON one."""

from {{ cookiecutter.project_slug }}.contracts import Contract
from {{ cookiecutter.project_slug }}.messages import AnyJson, Text

TEXT = Contract(receives=[Text], sends=[Text])
JSON = Contract(receives=[AnyJson], sends=[AnyJson])

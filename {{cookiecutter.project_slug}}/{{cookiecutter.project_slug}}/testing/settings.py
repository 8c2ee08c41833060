"""The settings of the servers the tests start (live_server.py): the project's, with the tests' password hasher.

The users a test creates have one-iteration password hashes (conftest.py). Under the project's own hasher a
server verifies such a hash, then takes it for a weak one and hashes the password again at the full work factor
(a million PBKDF2 iterations, about 0.4 s of CPU) at each login: through a page, a form or /api/ws-token/.
"""

from {{ cookiecutter.project_slug }}.settings import *  # noqa: F403
from {{ cookiecutter.project_slug }}.tests.hashers import PASSWORD_HASHERS  # noqa: F401

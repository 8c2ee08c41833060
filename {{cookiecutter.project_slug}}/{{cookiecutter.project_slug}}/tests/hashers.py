from django.contrib.auth.hashers import PBKDF2PasswordHasher


class FastPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    """Tests only: the real hash format with one iteration, so creating users costs nothing.

    The hash records its iteration count, so the project's own hasher still verifies it.
    """

    iterations = 1


# The tests' PASSWORD_HASHERS: in pytest's process (conftest.py) and in the servers it starts (testing/settings.py).
PASSWORD_HASHERS = [f"{__name__}.{FastPBKDF2PasswordHasher.__name__}"]

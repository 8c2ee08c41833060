from django.contrib.auth.hashers import PBKDF2PasswordHasher


class FastPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    """Tests only: the real hash format with one iteration, so creating users costs nothing.

    The hash records its iteration count, so the real hasher (in the live test server) still verifies it.
    """

    iterations = 1

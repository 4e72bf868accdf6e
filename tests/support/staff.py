"""What every gateway under test is given for its staff accounts."""

from __future__ import annotations

# Staff passwords hashed at scrypt n=1024 instead of production's 16384: each login costs a
# hash, and the suite logs in a few thousand times (a quarter of make test-fast's CPU at the
# production cost). The cost's own tests use production's.
TEST_SCRYPT_N = 1024
CHEAP_PASSWORDS = {"PASSWORD_SCRYPT_N": str(TEST_SCRYPT_N)}

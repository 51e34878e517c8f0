"""Password hashing with argon2id, off the event loop.

Parameters: memory 19 MiB (19,456 KiB), 2 passes, 1 lane — the argon2id configuration of the
OWASP Password Storage Cheat Sheet. argon2-cffi's defaults (RFC 9106's second recommended
option: 64 MiB, 3 passes, 4 lanes) cost a serve process 64 MiB of peak memory per sign-in and
about four times the CPU; see docs/decisions.md. Hashes made with other parameters still
verify, and are re-hashed with these at the next sign-in (`needs_rehash`).

A check takes tens of milliseconds of CPU by design. Run on the event loop it would stall every
other request of the process for that long, so the coroutines below run it on a small pool of
threads (argon2-cffi releases the GIL while hashing). The pool has as many threads as a
machine like the reference one has cores, which also caps the memory a burst of sign-ins can
take.
"""

from __future__ import annotations

import asyncio
import functools
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 8

TIME_COST = 2
MEMORY_COST_KIB = 19_456
PARALLELISM = 1
HASHING_THREADS = 2

_hasher = PasswordHasher(time_cost=TIME_COST, memory_cost=MEMORY_COST_KIB, parallelism=PARALLELISM)
_pool = ThreadPoolExecutor(max_workers=HASHING_THREADS, thread_name_prefix="rapport-password")


def hash_password(password: str) -> str:
    """The hash, computed here and now (for scripts and start-up; coroutines await `hashed`)."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


async def hashed(password: str) -> str:
    """`hash_password` on the hashing threads, so the event loop keeps serving."""
    return await asyncio.get_running_loop().run_in_executor(_pool, hash_password, password)


async def password_matches(password_hash: str, password: str) -> bool:
    """`verify_password` on the hashing threads."""
    return await asyncio.get_running_loop().run_in_executor(
        _pool, verify_password, password_hash, password
    )


@functools.cache
def dummy_hash() -> str:
    """A hash to check unknown accounts against, so timing does not tell which emails exist."""
    return hash_password("not-a-real-password")

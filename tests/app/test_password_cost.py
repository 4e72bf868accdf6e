"""Staff passwords are hashed at the configured scrypt cost; production refuses a cheap one."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from app.auth import accounts
from app.auth.passwords import DEFAULT_COST, MAX_N, PRODUCTION_N, Cost, hash_password, made_at, verify_password
from app.read_model.tables import METADATA, clerks
from app.settings import ConfigurationError, password_cost
from tests.support.staff import TEST_SCRYPT_N
from workers.eventing import Database, Settings

CHEAP = Cost(n=TEST_SCRYPT_N)


def test_production_cost_is_the_default() -> None:
    assert password_cost(Settings.from_env({})) == Cost(n=PRODUCTION_N) == DEFAULT_COST


@pytest.mark.parametrize("n", ["1000", "1", "0", str(MAX_N * 2)])
def test_a_cost_that_is_not_a_power_of_two_up_to_the_bound_is_refused(n: str) -> None:
    with pytest.raises(ConfigurationError, match="PASSWORD_SCRYPT_N"):
        password_cost(Settings.from_env({"PASSWORD_SCRYPT_N": n}))


def test_production_refuses_a_cost_below_its_own() -> None:
    with pytest.raises(ConfigurationError, match="PASSWORD_SCRYPT_N"):
        password_cost(Settings.from_env({"SHOP_ENV": "production", "PASSWORD_SCRYPT_N": str(TEST_SCRYPT_N)}))

    stronger = Settings.from_env({"SHOP_ENV": "production", "PASSWORD_SCRYPT_N": str(PRODUCTION_N * 2)})
    assert password_cost(stronger) == Cost(n=PRODUCTION_N * 2)


def test_the_strongest_cost_allowed_hashes_and_verifies() -> None:
    # OpenSSL's default memory bound (32 MiB) would refuse anything above production's cost.
    stored = hash_password("secret", Cost(n=MAX_N))

    assert made_at(stored, Cost(n=MAX_N)) and verify_password("secret", stored)


def test_a_hash_names_its_cost_and_verifies_at_any_cost() -> None:
    cheap, dear = hash_password("secret", CHEAP), hash_password("secret")

    assert made_at(cheap, CHEAP) and not made_at(cheap, DEFAULT_COST)
    assert made_at(dear, DEFAULT_COST)
    assert verify_password("secret", cheap) and verify_password("secret", dear)
    assert not verify_password("wrong", cheap)


def test_an_account_is_hashed_again_when_the_cost_changes(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'gateway.db'}", METADATA)
    db.create_tables()

    def stored() -> str:
        with db.snapshot() as conn:
            value: str = conn.execute(select(clerks.c.password_hash)).scalar_one()
        return value

    accounts.ensure_clerk(db, "kim", "a-password", cost=CHEAP)
    cheap = stored()
    accounts.ensure_clerk(db, "kim", "a-password", cost=CHEAP)
    assert stored() == cheap  # same cost, same password: left alone

    accounts.ensure_clerk(db, "kim", "a-password", cost=DEFAULT_COST)

    assert made_at(cheap, CHEAP) and made_at(stored(), DEFAULT_COST)
    assert accounts.login(db, "kim", "a-password", accounts.SessionPolicy(), cost=DEFAULT_COST) is not None
    db.dispose()

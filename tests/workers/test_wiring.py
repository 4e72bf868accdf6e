"""Every service's composition root takes its consumer's settings from the environment, through one ``Settings``."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.projector.bootstrap import SPEC as PROJECTOR
from workers.catalog.bootstrap import SPEC as CATALOG
from workers.contracts import SERVICES
from workers.email.bootstrap import SPEC as EMAIL
from workers.eventing import ServiceSpec, Settings
from workers.eventing.service import consumer_of, open_runtime
from workers.orders.bootstrap import SPEC as ORDERS
from workers.payments.bootstrap import SPEC as PAYMENTS
from workers.shipping.bootstrap import SPEC as SHIPPING
from workers.warehouse.bootstrap import SPEC as WAREHOUSE

SPECS = [CATALOG, ORDERS, PAYMENTS, WAREHOUSE, SHIPPING, EMAIL, PROJECTOR]


@pytest.mark.parametrize("spec", SPECS, ids=[spec.name for spec in SPECS])
def test_a_service_consumes_with_the_consumer_settings_of_its_environment(
    spec: ServiceSpec, redis_url: str, tmp_path: Path
) -> None:
    settings = Settings.from_env(
        {
            "DATA_DIR": str(tmp_path),
            "REDIS_URL": redis_url,
            "SEED_DEMO_CATALOG": "0",
            "CONSUMER_BATCH_SIZE": "7",
            "CONSUMER_NAME": "replica-3",
            "CLAIM_IDLE_MS": "1234",
            "MAX_DELIVERIES": "2",
        }
    )
    runtime = open_runtime(spec, settings)
    try:
        consumer = consumer_of(runtime, spec.wire(runtime))
    finally:
        runtime.db.dispose()

    assert (consumer.batch_size, consumer.consumer_name) == (7, "replica-3")
    assert (consumer.claim_idle_ms, consumer.max_deliveries) == (1234, 2)


def test_every_service_runs_under_a_name_the_contracts_list() -> None:
    assert sorted(spec.name for spec in SPECS) == sorted(SERVICES)

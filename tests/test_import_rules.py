"""The architecture's import rules, held by a test.

- a service imports the backbone and the contracts, never another service or the gateway;
- the backbone imports no service, no contract and not the gateway;
- the contracts import only the backbone;
- the gateway imports no service.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SERVICES = sorted(
    p.name for p in (ROOT / "workers").iterdir() if p.is_dir() and (p / "__main__.py").exists() and p.name != "eventing"
)


def imported_modules(package: Path) -> set[str]:
    modules: set[str] = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                modules.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                modules.add(node.module)
    return modules


def first_two(module: str) -> str:
    return ".".join(module.split(".")[:2])


def test_there_are_services_to_check() -> None:
    assert {"catalog", "orders", "payments", "warehouse", "shipping", "email"} <= set(SERVICES)


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_imports_no_other_service_nor_the_gateway(service: str) -> None:
    allowed = {"workers.eventing", "workers.contracts", f"workers.{service}"}
    ours = {first_two(m) for m in imported_modules(ROOT / "workers" / service) if m.split(".")[0] in ("workers", "app")}
    assert ours <= allowed, f"{service} imports {sorted(ours - allowed)}"


def test_the_backbone_imports_no_service_contract_or_gateway() -> None:
    ours = {
        first_two(m) for m in imported_modules(ROOT / "workers" / "eventing") if m.split(".")[0] in ("workers", "app")
    }
    assert ours <= {"workers.eventing"}, sorted(ours)


def test_the_contracts_import_only_the_backbone() -> None:
    modules = imported_modules(ROOT / "workers" / "contracts")
    ours = {first_two(m) for m in modules if m.split(".")[0] in ("workers", "app")}
    assert ours <= {"workers.eventing", "workers.contracts"}, sorted(ours)


def test_the_gateway_imports_no_service() -> None:
    ours = {first_two(m) for m in imported_modules(ROOT / "app") if m.split(".")[0] == "workers"}
    assert ours <= {"workers.eventing", "workers.contracts"}, sorted(ours)

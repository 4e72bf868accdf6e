"""The architecture's import rules, held by a test.

- a service imports the backbone and the contracts, never another service or the gateway;
- the backbone imports no service, no contract and not the gateway;
- the contracts import only the backbone;
- the gateway imports no service;
- inside the gateway, a module imports only its own layer and the layers below it
  (``GATEWAY_LAYERS``, top to bottom), live push never imports the pages, the shop or
  the JSON API, no module imports another inside a function, and there is no import cycle.

README.md's "Code layout" names the same layers; ``test_the_readme_names_every_gateway_layer`` holds them together.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# The gateway's layers, top to bottom: a module may import its own layer and those below.
# A module belongs to the layer of the longest prefix that names it.
GATEWAY_LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("composition root", ("app.main", "app.__main__")),
    (
        "routes",
        (
            "app.api",
            "app.shop.pages",
            "app.shop.live_pages",
            "app.shop.error_pages",
            "app.shop.templates",
            "app.ops.page",
            "app.ops.api",
            "app.ops.health",
            "app.ops.metrics",
        ),
    ),
    ("domain", ("app.shop", "app.auth", "app.ops", "app.live", "app.gateway", "app.settings")),
    ("read model", ("app.read_model", "app.projector", "app.migrations")),
    ("HTTP plumbing", ("app.http",)),
)
# Besides the layers: what a package never imports.
GATEWAY_FORBIDDEN: dict[str, tuple[str, ...]] = {
    "app.live": ("app.shop", "app.api", "app.ops"),
}
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


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


GATEWAY_MODULES = {_module_name(p): p for p in sorted((ROOT / "app").rglob("*.py"))}


def gateway_imports(module: str) -> set[str]:
    """The gateway modules ``module`` imports (``from app.x import y`` counts ``app.x.y`` when that is a module)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(GATEWAY_MODULES[module].read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {m for m in found if m in GATEWAY_MODULES and m != module}


def layer_of(module: str) -> int:
    matches = [
        (len(prefix), index)
        for index, (_, prefixes) in enumerate(GATEWAY_LAYERS)
        for prefix in prefixes
        if module == prefix or module.startswith(prefix + ".")
    ]
    assert matches, f"{module} is in none of GATEWAY_LAYERS"
    return max(matches)[1]


def _is_package(module: str) -> bool:
    return GATEWAY_MODULES[module].name == "__init__.py"


@pytest.mark.parametrize("module", [m for m in GATEWAY_MODULES if not _is_package(m) and m != "app"])
def test_a_gateway_module_imports_only_its_own_layer_and_those_below(module: str) -> None:
    upward = {
        f"{m} ({GATEWAY_LAYERS[layer_of(m)][0]})"
        for m in gateway_imports(module)
        if not _is_package(m) and layer_of(m) < layer_of(module)
    }
    assert not upward, f"{module} ({GATEWAY_LAYERS[layer_of(module)][0]}) imports {sorted(upward)}"


@pytest.mark.parametrize("package", sorted(GATEWAY_FORBIDDEN))
def test_live_push_imports_no_pages_shop_or_api(package: str) -> None:
    ours = [m for m in GATEWAY_MODULES if m == package or m.startswith(package + ".")]
    bad = {
        f"{m} -> {dep}"
        for m in ours
        for dep in gateway_imports(m)
        if any(dep == f or dep.startswith(f + ".") for f in GATEWAY_FORBIDDEN[package])
    }
    assert not bad, sorted(bad)


def test_no_gateway_module_imports_inside_a_function() -> None:
    # An import inside a function is how a cycle hides: the graph below would not see it.
    late = [
        f"{module}:{inner.lineno}"
        for module, path in GATEWAY_MODULES.items()
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        for inner in ast.walk(node)
        if isinstance(inner, ast.Import | ast.ImportFrom)
    ]
    assert late == []


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every cycle found by a depth-first walk (one per back edge), each as the modules around it."""
    cycles: list[list[str]] = []
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(module: str) -> None:
        state[module] = "open"
        stack.append(module)
        for dep in sorted(graph.get(module, ())):
            if state.get(dep) == "open":
                cycles.append([*stack[stack.index(dep) :], dep])
            elif dep not in state:
                visit(dep)
        stack.pop()
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module)
    return cycles


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert import_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert import_cycles({"a": {"b"}, "b": set(), "c": {"a", "b"}}) == []


def test_there_is_no_import_cycle_among_gateway_modules() -> None:
    assert import_cycles({m: gateway_imports(m) for m in GATEWAY_MODULES}) == []


def test_the_readme_names_every_gateway_layer() -> None:
    layout = (ROOT / "README.md").read_text().split("### Code layout", 1)[1].split("\n## ", 1)[0]
    for name, prefixes in GATEWAY_LAYERS:
        assert name in layout, f"README's code layout does not name the {name} layer"
        for prefix in prefixes:
            assert prefix.replace(".", "/").removeprefix("app/") in layout, f"README's code layout leaves out {prefix}"

"""The package's shape: imports point one way (no cycle, function-level imports included), nothing
imports the CLI, extension points are tables whose unknown names raise."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import paradox_gym
from paradox_gym.errors import UserInputError

PACKAGE = Path(paradox_gym.__file__).resolve().parent


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def import_graph() -> dict[str, set[str]]:
    """module -> the package modules it imports anywhere in its body (function-level imports included).
    Imports of the package root (its lazy re-exports) and of a module's own parents are ignored."""
    files = {_module_name(f): f for f in PACKAGE.rglob("*.py")}

    def resolve(name: str) -> str | None:
        while name and name not in files:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {m: set() for m in files}
    for module, path in files.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = module.split(".") if is_package else module.split(".")[:-1]
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                targets = [f"{base}.{a.name}" for a in node.names] + [base]
            for target in targets:
                if not target.startswith("paradox_gym"):
                    continue
                resolved = resolve(target)
                if resolved and resolved != module and resolved != "paradox_gym" \
                        and not module.startswith(resolved + "."):
                    graph[module].add(resolved)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first == last), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_no_import_cycle() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_cycle_finder_finds_a_planted_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_nothing_imports_the_cli() -> None:
    offenders = sorted(m for m, deps in import_graph().items()
                       if not m.startswith("paradox_gym.cli") and any(d.startswith("paradox_gym.cli") for d in deps))
    assert offenders == []


def test_unknown_method_given_to_apply_raises() -> None:
    from paradox_gym.compression import apply_recipe

    with pytest.raises(UserInputError, match="unknown compression method 'nope'"):
        apply_recipe(object(), "PPO", {"method": "nope"}, None)


def test_unknown_meter_raises() -> None:
    from paradox_gym.energy import make_meters

    with pytest.raises(UserInputError, match="unknown meter 'nope'"):
        make_meters(["nope"])


def test_public_api() -> None:
    assert callable(paradox_gym.evaluate)
    settings = paradox_gym.EvalSettings(env_id="CartPole-v1", methods=("prune+ptdq",), memory=False)
    assert settings.methods == ("mixed",) and settings.configs == ("none", "none-copy", "mixed")
    with pytest.raises(UserInputError, match="episodes must be an integer >= 1"):
        paradox_gym.EvalSettings(episodes=0)
    assert paradox_gym.EvalResult.__name__ == "EvalResult"

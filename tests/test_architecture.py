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
                       if not m.startswith("paradox_gym.cli") and m != "paradox_gym.__main__"
                       and any(d.startswith("paradox_gym.cli") for d in deps))
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


#: The layers of docs/architecture.md ("Data flow and import direction"), left to right: a module may
#: import only modules of its own layer or of a layer to its left. Matched by longest prefix.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("paradox_gym._util", "paradox_gym.errors", "paradox_gym.vocab", "paradox_gym.limits", "paradox_gym.stats",
     "paradox_gym.report.format", "paradox_gym.references"),
    ("paradox_gym.envs",),
    ("paradox_gym.sb3",),
    ("paradox_gym.zoo", "paradox_gym.compression"),
    ("paradox_gym.energy",),
    ("paradox_gym.experiment",),
    ("paradox_gym.analysis",),
    ("paradox_gym.report",),
    ("paradox_gym.pipeline", "paradox_gym.loading"),
    ("paradox_gym.study", "paradox_gym.crossover"),
    ("paradox_gym.cli", "paradox_gym.__main__"),
)


def layer_of(module: str, layers: tuple[tuple[str, ...], ...] = LAYERS) -> int | None:
    """The index of ``module``'s layer (the longest matching prefix wins); None for the package root."""
    best: tuple[int, int] | None = None
    for index, prefixes in enumerate(layers):
        for prefix in prefixes:
            if module == prefix or module.startswith(prefix + "."):
                if best is None or len(prefix) > best[1]:
                    best = (index, len(prefix))
    return None if best is None else best[0]


def layer_violations(graph: dict[str, set[str]],
                     layers: tuple[tuple[str, ...], ...] = LAYERS) -> list[tuple[str, str]]:
    """(module, imported) pairs where a module imports one of a layer to its right."""
    out = []
    for module, deps in graph.items():
        mine = layer_of(module, layers)
        for dep in deps:
            theirs = layer_of(dep, layers)
            if mine is not None and theirs is not None and theirs > mine:
                out.append((module, dep))
    return sorted(out)


def test_every_module_has_a_layer() -> None:
    unplaced = sorted(m for m in import_graph() if m != "paradox_gym" and layer_of(m) is None)
    assert unplaced == [], f"modules missing from LAYERS (and docs/architecture.md): {unplaced}"


def test_imports_follow_the_documented_layer_order() -> None:
    assert layer_violations(import_graph()) == []


def test_layer_check_catches_an_import_against_the_order() -> None:
    graph = {"paradox_gym.stats": {"paradox_gym.analysis.summary"}, "paradox_gym.analysis.summary": {"paradox_gym.stats"}}
    assert layer_violations(graph) == [("paradox_gym.stats", "paradox_gym.analysis.summary")]
    assert layer_of("paradox_gym.report.format") == 0 and layer_of("paradox_gym.report.text") == LAYERS.index(("paradox_gym.report",))


def test_a_setting_declared_once_reaches_flag_grid_key_and_json() -> None:
    """Adding a setting is one field with its declaration: the CLI flag, the grid key and the JSON field follow."""
    import dataclasses

    from paradox_gym.cli.evaluate import add_setting_arguments
    from paradox_gym.experiment.settings import EvalSettings, setting, settings_table
    from paradox_gym.study.grid import grid_keys

    @dataclasses.dataclass(frozen=True)
    class Extended(EvalSettings):
        new_knob: int = setting(3, "a new knob", flag="--new-knob", kind="int", bounds=(1, 9), grid=True)

    parser = __import__("argparse").ArgumentParser()
    add_setting_arguments(parser, Extended)
    assert parser.parse_args(["--new-knob", "5"]).new_knob == 5
    assert "new_knob" in grid_keys(Extended)
    assert Extended(env_id="CartPole-v1", new_knob=4).to_dict()["new_knob"] == 4
    assert "`--new-knob`" in settings_table(Extended)
    with pytest.raises(UserInputError, match="new_knob"):
        Extended(new_knob=0)


def test_the_settings_table_in_the_docs_is_current() -> None:
    from paradox_gym.experiment.settings import settings_table

    docs = (PACKAGE.parent / "docs" / "evaluation.md").read_text(encoding="utf-8")
    assert settings_table() in docs, "regenerate with: python scripts/settings_table.py"


# Where an env id enters the package: the only functions that check one (docs/architecture.md).
ENV_ID_BORDERS = {
    ("envs/__init__.py", "make_env"),
    ("zoo/hyperparams.py", "default_algo"),
    ("zoo/training.py", "train"),
    ("zoo/loading.py", "load_agent"),
    ("zoo/loading.py", "find_vecnormalize"),
    ("sb3/safe_load.py", "load_zip"),
    ("sb3/rlzoo.py", "resolve_agent_settings"),
    ("study/grid.py", "_agent"),
}


def test_the_env_id_is_checked_only_where_it_enters() -> None:
    package = Path(paradox_gym.__file__).parent
    callers = set()
    for path in package.rglob("*.py"):
        for func in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            if any(isinstance(n, ast.Call) and getattr(n.func, "id", None) == "validate_env_id"
                   for n in ast.walk(func)):
                callers.add((path.relative_to(package).as_posix(), func.name))
    assert callers == ENV_ID_BORDERS


def test_a_checked_env_id_is_returned_as_it_is() -> None:
    from paradox_gym.envs import EnvId, validate_env_id

    checked = validate_env_id("CartPole-v1")
    assert isinstance(checked, EnvId) and checked == "CartPole-v1"
    assert validate_env_id(checked) is checked


# A broad handler either cleans up and re-raises (``except BaseException: ...; raise``) or says, on its
# ``except`` line, which fault it turns into which named error or record: ``# noqa: BLE001 - <reason>``.
_BROAD = {"Exception", "BaseException"}
_REASONED = "noqa: BLE001 - "


def broad_handlers_without_reason(source: str) -> list[int]:
    """Lines of the ``except Exception`` / ``except BaseException`` / bare ``except`` handlers of ``source``
    that neither end in a bare ``raise`` nor carry a ``noqa: BLE001 - <reason>`` comment on their line."""
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.ExceptHandler):
            continue
        caught = node.type.elts if isinstance(node.type, ast.Tuple) else [node.type]
        if not any(t is None or (isinstance(t, ast.Name) and t.id in _BROAD) for t in caught):
            continue
        last = node.body[-1]
        if isinstance(last, ast.Raise) and last.exc is None:
            continue
        comment = lines[node.lineno - 1].partition("#")[2]
        if _REASONED in comment and comment.split(_REASONED, 1)[1].strip():
            continue
        found.append(node.lineno)
    return found


def test_broad_exception_handlers_re_raise_or_give_their_reason() -> None:
    offenders = [f"{path.relative_to(PACKAGE).as_posix()}:{line}" for path in sorted(PACKAGE.rglob("*.py"))
                 for line in broad_handlers_without_reason(path.read_text(encoding="utf-8"))]
    assert offenders == [], "catch the named faults, or say why not: # noqa: BLE001 - <reason>"


def test_the_broad_handler_check_catches_a_silent_catch() -> None:
    source = ("try:\n    f()\nexcept Exception:\n    pass\n"                           # silent: caught
              "try:\n    f()\nexcept (OSError, BaseException):\n    g()\n"             # in a tuple: caught
              "try:\n    f()\nexcept:  # noqa: BLE001\n    pass\n"                     # no reason: caught
              "try:\n    f()\nexcept BaseException:\n    g()\n    raise\n"             # cleanup, re-raise
              "try:\n    f()\nexcept Exception:  # noqa: BLE001 - named in the record\n    pass\n"
              "try:\n    f()\nexcept OSError:\n    pass\n")
    assert broad_handlers_without_reason(source) == [3, 7, 11]


@pytest.mark.parametrize("package", ["paradox_gym", "paradox_gym.report", "paradox_gym.crossover"])
def test_every_lazy_export_resolves(package: str) -> None:
    import importlib

    module = importlib.import_module(package)
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert not missing, f"{package}.__all__ names what it cannot give: {missing}"

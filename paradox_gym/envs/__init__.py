"""Environments: Gymnasium registration of the mock environments, env-id checks, and the rollout loop.

- :func:`register_envs`: registers ``paradox_gym/MockDRL-v0`` and ``paradox_gym/MockDRLDiscrete-v0``.
- :func:`validate_env_id` / :func:`make_env`: one check of an env id (with close-match suggestions) and
  one way to build an environment (a missing optional dependency is a one-line user error);
  :func:`close_env`: one way to close one (its own ``close`` raising is a warning, not a crash).
- Custom environments: an id ``module:EnvId`` imports ``module`` first, as ``gymnasium.make`` does (the
  user's own code, named by the user); :func:`fresh_process_env` passes an environment the caller
  registered in this process to the fresh processes that measure it (replicates, memory probes), which
  register it again from its spec.
- :mod:`paradox_gym.envs.rollout`: THE predict -> step loop, used everywhere episodes are played.
"""

from __future__ import annotations

import difflib
import importlib
import json
import os
import sys
from pathlib import Path
from typing import Any

import gymnasium

from paradox_gym._util.cli import one_line
from paradox_gym.errors import UserInputError

MOCK_DRL_ID = "paradox_gym/MockDRL-v0"
MOCK_DRL_DISCRETE_ID = "paradox_gym/MockDRLDiscrete-v0"


def register_envs() -> None:
    """Register the environments once (idempotent: a second import does not re-register)."""
    if MOCK_DRL_ID not in gymnasium.registry:
        gymnasium.register(
            id=MOCK_DRL_ID,
            entry_point="paradox_gym.envs.mock_drl:MockDRLEnv",
            max_episode_steps=500,
        )
    if MOCK_DRL_DISCRETE_ID not in gymnasium.registry:
        gymnasium.register(
            id=MOCK_DRL_DISCRETE_ID,
            entry_point="paradox_gym.envs.mock_drl:MockDRLDiscreteEnv",
            max_episode_steps=500,
        )


#: The variable through which a run passes the specs of environments its caller registered to the fresh
#: processes that measure them (a JSON list of ``gymnasium.register`` keyword arguments).
INHERITED_SPECS_VAR = "PARADOX_GYM_ENV_SPECS"
#: ``EnvSpec`` fields a fresh process registers an inherited environment with.
_SPEC_FIELDS = ("id", "entry_point", "reward_threshold", "nondeterministic", "max_episode_steps", "order_enforce",
                "disable_env_checker", "kwargs")
_inherited = {"read": False}


def _register_inherited() -> None:
    """Register the environments this process inherited through :data:`INHERITED_SPECS_VAR` (once; an id this
    process already knows is left as it is)."""
    if _inherited["read"]:
        return
    _inherited["read"] = True
    text = os.environ.get(INHERITED_SPECS_VAR)
    if not text:
        return
    try:
        specs = json.loads(text)
    except ValueError:
        specs = None
    if not isinstance(specs, list) or not all(isinstance(s, dict) and isinstance(s.get("id"), str) for s in specs):
        raise UserInputError(f"{INHERITED_SPECS_VAR} is not a JSON list of environment specs")
    for spec in specs:
        if spec["id"] not in gymnasium.registry:
            gymnasium.register(**{k: v for k, v in spec.items() if k in _SPEC_FIELDS})


def _import_env_module(env_id: str) -> str:
    """The registry id of ``module:EnvId`` after importing ``module`` (the user's own code, as
    ``gymnasium.make`` imports it); a module that cannot be imported is one line."""
    module, _, name = env_id.partition(":")
    if not module or not name or ":" in name:
        raise UserInputError(f"env id {env_id!r} must be EnvId or module:EnvId (one colon)")
    try:
        importlib.import_module(module)
    except Exception as exc:  # noqa: BLE001 - whatever the user's module raises on import: named in one line
        raise UserInputError(f"env id {env_id!r}: importing module {module!r} failed: "
                             f"{type(exc).__name__}: {one_line(exc)[:300]}") from None
    return name


class EnvId(str):
    """An env id that :func:`validate_env_id` checked in this process: Gymnasium knows it (its module, for
    ``module:EnvId``, imported). The public functions that take an env id check it where it enters; what
    they pass on is an ``EnvId``, which checking again returns at once."""

    __slots__ = ()


def _registered_name(env_id: str) -> str:
    """The name Gymnasium registers ``env_id`` under (``module:EnvId`` -> ``EnvId``)."""
    return env_id.partition(":")[2] if ":" in env_id else env_id


def validate_env_id(env_id: Any) -> EnvId:
    """Return ``env_id`` as a checked :class:`EnvId` if Gymnasium knows it, else raise UserInputError with
    close matches.

    ``module:EnvId`` imports ``module`` first (as ``gymnasium.make`` does) and is returned whole, so that
    every process making the environment imports it too. An ``EnvId`` this process already knows is
    returned as it is."""
    if isinstance(env_id, EnvId) and _registered_name(env_id) in gymnasium.registry:
        return env_id
    register_envs()
    _register_inherited()
    if not isinstance(env_id, str) or not env_id:
        raise UserInputError(f"env id must be a non-empty string, got {env_id!r}")
    registered = _import_env_module(env_id) if ":" in env_id else env_id
    if registered in gymnasium.registry:
        return EnvId(env_id)
    if registered != env_id:
        raise UserInputError(f"env id {env_id!r}: module {env_id.partition(':')[0]!r} was imported but registers "
                             f"no environment {registered!r} with gymnasium")
    known = sorted(gymnasium.registry.keys())
    close = difflib.get_close_matches(env_id, known, n=3, cutoff=0.6)
    if not close:  # also try case-insensitively ("cartpole-v1")
        lowered = {k.lower(): k for k in known}
        close = [lowered[c] for c in difflib.get_close_matches(env_id.lower(), list(lowered), n=3, cutoff=0.6)]
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise UserInputError(f"unknown environment {env_id!r}{hint} (any id registered with gymnasium works)")


def make_env(env_id: str, **kwargs: Any) -> gymnasium.Env[Any, Any]:
    """``gymnasium.make(env_id, **kwargs)``; an unknown id or a missing optional dependency (MuJoCo,
    Box2D, ...) is a one-line UserInputError."""
    env_id = validate_env_id(env_id)
    try:
        return gymnasium.make(env_id, **kwargs)
    except (gymnasium.error.Error, ImportError, TypeError) as exc:
        first = one_line(exc) or type(exc).__name__
        raise UserInputError(f"cannot create environment {env_id!r}: {first}") from None


def _entry_point_text(env_id: str, entry: Any) -> str:
    """``module:Class`` of an entry point a fresh process can import, else UserInputError saying what to do."""
    if isinstance(entry, str):
        return entry
    module = getattr(entry, "__module__", None)
    qualname = getattr(entry, "__qualname__", None)
    advice = (f"put it in a module and register it with entry_point='module:{qualname or 'Class'}', or name it "
              f"as --env module:{env_id} (env_id='module:{env_id}')")
    if not isinstance(module, str) or not isinstance(qualname, str) or module == "__main__" or "<" in qualname:
        where = "in __main__ (a script or a notebook cell)" if module == "__main__" else "where no module names it"
        raise UserInputError(f"environment {env_id!r} is registered with entry point {qualname or entry!r}, defined "
                             f"{where}: the fresh processes that measure it cannot import it; {advice}")
    try:
        found: Any = importlib.import_module(module)
        for part in qualname.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError):
        found = None
    if found is not entry:
        raise UserInputError(f"environment {env_id!r} is registered with entry point {module}.{qualname}, which "
                             f"importing {module!r} does not give back: the fresh processes that measure it cannot "
                             f"rebuild it; {advice}")
    return f"{module}:{qualname}"


def _import_root(module_name: str) -> str | None:
    """The folder a fresh process must find ``module_name`` in, when it lies outside the interpreter's own
    installation (a script's folder, a notebook's, a path the caller added); None otherwise."""
    module = sys.modules.get(module_name)
    file = getattr(module, "__file__", None)
    if not isinstance(file, str):
        return None
    path = Path(file).resolve()
    root = path.parent if path.name != "__init__.py" else path.parent.parent
    for _ in range(module_name.count(".")):
        root = root.parent
    installed = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    if any(root == p or p in root.parents for p in installed):
        return None
    return str(root)


def fresh_process_env(env_id: str) -> dict[str, str]:
    """Environment variables a fresh process (a replicate, a memory probe) needs to make ``env_id`` as this
    process does: the spec of the environment (:data:`INHERITED_SPECS_VAR`; registered there when that
    process does not know the id) and, when its entry point's module lies outside the installed packages,
    ``PYTHONPATH`` extended by the folder it is imported from. For ``module:EnvId`` the fresh process imports
    the module itself (``PYTHONPATH`` is extended the same way when it is needed).

    Raises UserInputError, before any work, for an environment a fresh process cannot rebuild: an entry
    point defined in ``__main__`` (a script, a notebook cell) or not importable by its name, or keyword
    arguments that are not JSON. ``env_id`` is a checked id (:func:`validate_env_id`, as the settings
    resolve it).
    """
    if ":" in env_id:
        return _python_path(env_id.partition(":")[0])
    if env_id in (MOCK_DRL_ID, MOCK_DRL_DISCRETE_ID):
        return {}
    spec = gymnasium.spec(env_id)
    entry = _entry_point_text(env_id, spec.entry_point)
    data = {name: getattr(spec, name) for name in _SPEC_FIELDS}
    data["entry_point"] = entry
    try:
        text = json.dumps([data], allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise UserInputError(f"environment {env_id!r} is registered with keyword arguments that cannot be passed "
                             f"to the fresh processes that measure it ({exc}); register it with JSON values, or name "
                             f"it as --env module:{env_id}") from None
    module = entry.partition(":")[0]
    try:
        importlib.import_module(module)
    except Exception as exc:  # noqa: BLE001 - the user's module: whatever it raises, named in one line
        raise UserInputError(f"environment {env_id!r}: importing its module {module!r} failed: "
                             f"{type(exc).__name__}: {one_line(exc)[:300]}") from None
    return {INHERITED_SPECS_VAR: text, **_python_path(module)}


def _python_path(module: str) -> dict[str, str]:
    """``{"PYTHONPATH": ...}`` extended by the folder ``module`` (imported here) comes from, when a fresh
    process would not find it otherwise; else nothing."""
    root = _import_root(module)
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if root is None or root in paths:
        return {}
    return {"PYTHONPATH": os.pathsep.join([*paths, root])}


def close_env(env: Any) -> None:
    """``env.close()``; an exception from the environment's own ``close`` becomes a RuntimeWarning (closing
    must never hide a result or the error that is already on its way). ``KeyboardInterrupt`` passes."""
    try:
        env.close()
    except Exception as exc:  # noqa: BLE001 - see the docstring
        import warnings

        first = one_line(exc)[:300]
        warnings.warn(f"closing the environment raised {type(exc).__name__}: {first} (ignored)", RuntimeWarning,
                      stacklevel=2)


def as_env_action(action: Any, action_space: gymnasium.Space) -> Any:
    """Turn an SB3 ``predict`` action for one observation into what ``env.step`` expects.

    SB3 returns a 0-d numpy array for a ``Discrete`` action space; environments that index tables with
    the action (FrozenLake, Taxi, CliffWalking) need a plain ``int``. Other spaces pass through.
    """
    if isinstance(action_space, gymnasium.spaces.Discrete):
        return int(action)
    return action

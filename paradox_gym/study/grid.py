"""A study grid: a YAML file -> :class:`Grid` -> one :class:`~paradox_gym.study.jobs.Job` per cell.

    agents:                      # zoo agents (env + algo), your zips (env + path), rl-zoo3 run folders
      - {env: CartPole-v1, algo: PPO}          # (folder, or path), or the word `shipped`
      - {env: CartPole-v1, algo: DQN}
      - {folder: logs/qrdqn/CartPole-v1_1}     # env, algo, env_kwargs, normalisation read as evaluate reads them
    methods: [ptdq, prune-structured]
    amounts: [0.3, 0.6]          # fractions in [0, 1), for the methods that use an amount
    runtimes: [sb3, onnxruntime] # optional (default sb3): every method on each runtime, or a mapping
    episodes: 2                  # runtime -> its methods (or `all`): {sb3: all, onnxruntime: [ptdq]}
    trials: 2
    remeasure: {above_mde_pct: 10, replicates: 12}   # optional: the resolution rule (study/remeasure.py)

A cell is one agent, one method, one amount and one runtime; a method without an amount (``ptdq``) has one
cell per agent and runtime. A cell on a runtime other than ``sb3`` is that runtime's configuration
(``onnxruntime:ptdq``) compared with the same runtime's float baseline (``onnxruntime:none``), measured in the
same run as the ``sb3`` baseline (see :attr:`~paradox_gym.experiment.settings.EvalSettings.baselines`). Each cell becomes one evaluation of the baseline against that configuration in the same run
(:func:`paradox_gym.evaluate`), so every cell is a self-contained paired comparison. Every other key
sets the :class:`~paradox_gym.experiment.settings.EvalSettings` field of the same name for all cells
(:data:`GRID_KEYS`); an unknown key is an error naming the valid ones.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import yaml

from paradox_gym._util.cli import one_line
from paradox_gym import limits
from paradox_gym._util.checks import check_amount, check_int, shown
from paradox_gym.compression.registry import METHOD_TABLE, canonical_method
from paradox_gym.compression.runtimes import SB3, check_runtime
from paradox_gym._util.files import read_regular_file
from paradox_gym.errors import AgentNotFoundError, UserInputError
from paradox_gym.experiment.settings import DEFAULT_REPLICATES, EvalSettings, Setting, int_fields, settings_of
from paradox_gym.study.jobs import SQUARE, AgentSpec, Job, make_job, vecnormalize_file
from paradox_gym.study.remeasure import REMEASURE, Remeasure, parse_remeasure
from paradox_gym.vocab import BASELINE


def _bool(name: str) -> Callable[[Any], bool]:
    def check(value: Any) -> bool:
        if not isinstance(value, bool):
            raise UserInputError(f"grid key {name!r} must be true or false, got {shown(value)}")
        return value

    return check


#: EvalSettings integer field -> its largest value (the caps of :mod:`paradox_gym.limits`).
_INT_MAXIMA: dict[str, int] = {name: maximum for name, _minimum, maximum in int_fields()}


def _int(name: str, minimum: int) -> Callable[[Any], int]:
    return lambda value: check_int(name, value, minimum, _INT_MAXIMA.get(name))


def _as_is(value: Any) -> Any:
    return value  # validated by EvalSettings when the jobs are built


def _optional_number(name: str) -> Callable[[Any], float | None]:
    def check(value: Any) -> float | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise UserInputError(f"grid key {name!r} must be a number, got {shown(value)}")
        try:
            return float(value)
        except OverflowError:  # an int too large for a float
            return math.inf

    return check


def _device(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise UserInputError(f"grid key 'device' must be a device name such as cpu, got {shown(value)}")
    return value


@dataclass(frozen=True)
class GridKey:
    """One key of a grid file that sets an :class:`EvalSettings` field for every cell.

    ``check`` turns the YAML value into the field's value (raising UserInputError); ``unsupported``
    is the only value accepted while this version's EvalSettings has no such field (None: any value is
    accepted and recorded in the job's identity)."""

    name: str
    check: Callable[[Any], Any]
    summary: str
    field: str
    unsupported_default: Any = None


def _trials(name: str, minimum: int) -> Callable[[Any], int | str]:
    def check(value: Any) -> int | str:
        if value == SQUARE:
            return SQUARE
        try:
            return check_int(name, value, minimum, _INT_MAXIMA.get(name))
        except UserInputError as exc:
            raise UserInputError(f"{exc} (or {SQUARE!r}: one trial per configuration of each cell)") from None

    return check


def _check_of(name: str, declared: Setting) -> Callable[[Any], Any]:
    """How a grid value of a declared setting is checked before the jobs are built (EvalSettings checks
    every value again when a job's settings are made)."""
    if name == "trials" and declared.bounds is not None:
        return _trials(name, declared.bounds[0])
    if declared.kind == "int" and declared.bounds is not None:
        return _int(name, declared.bounds[0])
    if declared.kind in ("flag", "no-flag"):
        return _bool(name)
    if declared.kind == "number":
        return _optional_number(name)
    if name == "device":
        return _device
    return _as_is


def grid_keys(cls: type = EvalSettings) -> dict[str, GridKey]:
    """The grid keys of ``cls``: every setting declared with ``grid=True``, under its field name."""
    return {name: GridKey(name, _check_of(name, declared), declared.help, name)
            for name, declared in settings_of(cls).items() if declared.grid}


#: Grid keys that set EvalSettings fields (the cell keys ``agents``, ``methods``, ``amounts`` are separate),
#: generated from the settings' declarations.
GRID_KEYS: dict[str, GridKey] = grid_keys()

CELL_KEYS: tuple[str, ...] = ("agents", "methods", "amounts", "runtimes")
#: ``runtimes: {onnxruntime: all}``: that runtime runs every method of the grid.
ALL_METHODS = "all"
AGENT_KEYS: tuple[str, ...] = ("env", "algo", "path", "folder")
#: ``agents: shipped`` means every agent shipped with the package (paradox_gym/zoo/shipped/manifest.json).
SHIPPED = "shipped"
#: Identity keys that name a cell (its agent, method, amount and the configurations that follow from
#: them); the rest of a job's identity is shared by the grid (its fingerprint).
CELL_IDENTITY: tuple[str, ...] = ("agent_sha256", "env_id", "algo", "method", "amount", "methods", "configs")
#: Amounts used when a grid lists a method with an amount but no ``amounts``.
DEFAULT_AMOUNTS: tuple[float, ...] = (0.5,)


def settings_fields() -> frozenset[str]:
    """The fields this version's EvalSettings has."""
    return frozenset(f.name for f in dataclasses.fields(EvalSettings))


@dataclass(frozen=True)
class Cell:
    """One agent, one method, one amount (None for methods without an amount), one runtime."""

    agent: AgentSpec
    method: str
    amount: float | None
    runtime: str = SB3


@dataclass(frozen=True)
class Grid:
    """A validated grid: agents x cells, plus the settings shared by every cell.

    ``settings`` are EvalSettings keyword arguments shared by every cell; ``extra`` holds grid keys this
    version's EvalSettings has no field for (recorded in each job's identity, see :data:`GRID_KEYS`).
    ``runtimes``: runtime -> the methods it runs, in grid order (None: every method on ``sb3`` only).
    """

    agents: tuple[AgentSpec, ...]
    methods: tuple[str, ...]
    amounts: tuple[float, ...]
    settings: dict[str, Any]
    extra: dict[str, Any]
    source: dict[str, Any]
    agents_dir: str | None = None
    runtimes: dict[str, tuple[str, ...]] | None = None
    #: cells above an A/A MDE target measured again (:mod:`paradox_gym.study.remeasure`); None: never
    remeasure: Remeasure | None = None

    def runtimes_of(self, method: str) -> tuple[str, ...]:
        """The runtimes ``method`` runs on in this grid, in grid order."""
        if self.runtimes is None:
            return (SB3,)
        return tuple(r for r, methods in self.runtimes.items() if method in methods)

    def cells(self) -> list[Cell]:
        """Agents in grid order; per agent the methods in grid order, per method its runtimes in grid order,
        amount methods once per amount."""
        cells: list[Cell] = []
        for agent in self.agents:
            for method in self.methods:
                amounts: tuple[float | None, ...] = self.amounts if METHOD_TABLE[method].uses_amount else (None,)
                for runtime in self.runtimes_of(method):
                    cells.extend(Cell(agent, method, a, runtime) for a in amounts)
        return cells

    def jobs(self, measurement: str = "exclusive") -> list[Job]:
        """One :class:`~paradox_gym.study.jobs.Job` per cell (validated: a bad setting raises here,
        before anything is measured)."""
        return [make_job(c.agent, c.method, c.amount, self.settings, self.extra, measurement, runtime=c.runtime)
                for c in self.cells()]

    def common_identity(self, measurement: str = "exclusive", jobs: list[Job] | None = None) -> dict[str, Any]:
        """What every job of this grid shares and that changes results (settings, package version,
        measurement): the jobs' identity without what names the cell (:data:`CELL_IDENTITY`) or differs
        between cells. ``jobs``: this grid's jobs for ``measurement``, when already built."""
        jobs = jobs if jobs is not None else self.jobs(measurement)
        if not jobs:
            return {}
        first = jobs[0].identity
        common = {k: v for k, v in first.items()
                  if k not in CELL_IDENTITY and all(j.identity.get(k) == v for j in jobs[1:])}
        if self.settings.get("trials") == SQUARE:  # the rule the cells' trials follow is shared
            common["trials"] = SQUARE
        return common


def _load_yaml(path: Path) -> Any:
    """The grid file's document: a regular file of at most ``MAX_GRID_BYTES`` (checked before it is read; a
    FIFO or a device is refused, never opened for a blocking read), UTF-8, parsed by ``yaml.safe_load`` (no
    tag constructs an object: ``!!python/...`` is an error), then :func:`check_document`."""
    data = read_regular_file(path, limits.MAX_GRID_BYTES, "grid file", "MAX_GRID_BYTES")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserInputError(f"grid file {str(path)!r} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise UserInputError(f"grid file {str(path)!r} is not valid YAML: {one_line(exc)}") from None
    except RecursionError:
        raise UserInputError(f"grid file {str(path)!r} is nested too deeply (at most {limits.MAX_GRID_DEPTH} "
                             "levels)") from None
    except (ValueError, TypeError, OverflowError) as exc:  # a constructor refusing a value (an int of 5000 digits)
        raise UserInputError(f"grid file {str(path)!r} holds a value YAML cannot build: "
                             f"{one_line(exc)[:300]}") from None
    try:
        check_document(doc)
    except UserInputError as exc:
        raise UserInputError(f"grid file {str(path)!r}: {exc}") from None
    return doc


def check_document(doc: Any) -> None:
    """Refuse a document with more than ``MAX_GRID_VALUES`` values or nested deeper than ``MAX_GRID_DEPTH``,
    counting a YAML alias each time it is used: an alias bomb ("billion laughs") or a self-referencing list
    is refused after at most that many steps, before anything else walks, prints or hashes it."""
    count = 0
    stack: list[tuple[Any, int]] = [(doc, 1)]
    while stack:
        value, depth = stack.pop()
        count += 1
        if count > limits.MAX_GRID_VALUES:
            raise UserInputError(f"it holds more than {limits.MAX_GRID_VALUES} values (YAML aliases counted each "
                                 "time they are used; MAX_GRID_VALUES)")
        if isinstance(value, (dict, list, tuple, set)):
            if depth > limits.MAX_GRID_DEPTH:
                raise UserInputError(f"it is nested more than {limits.MAX_GRID_DEPTH} levels deep (MAX_GRID_DEPTH)")
            items = [*value.keys(), *value.values()] if isinstance(value, dict) else list(value)
            if len(items) > limits.MAX_GRID_VALUES:
                raise UserInputError(f"it holds more than {limits.MAX_GRID_VALUES} values (MAX_GRID_VALUES)")
            stack.extend((item, depth + 1) for item in items)


def load_grid(path: str | Path, *, agents_dir: str | None = None) -> Grid:
    """Read and validate a grid file (YAML, loaded with ``yaml.safe_load``: nothing in it executes).
    Agent paths are relative to the grid file's folder."""
    path = Path(path)
    return parse_grid(_load_yaml(path), base_dir=path.parent, agents_dir=agents_dir)


def _list(doc: Mapping[str, Any], key: str) -> list[Any]:
    value = doc.get(key)
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return [value]
    if not isinstance(value, list) or not value:
        raise UserInputError(f"grid key {key!r} must be a non-empty list, got {shown(value)}")
    if len(value) > limits.MAX_GRID_CELLS:
        raise UserInputError(f"grid key {key!r} lists {len(value)} entries; at most {limits.MAX_GRID_CELLS} "
                             "(MAX_GRID_CELLS)")
    return value


def _shipped_agents() -> list[dict[str, Any]]:
    from paradox_gym.zoo import SHIPPED_DIR, read_manifest

    entries = read_manifest(SHIPPED_DIR)["agents"]
    return [{"env": e["env_id"], "algo": e["algo"]} for _, e in sorted(entries.items())
            if isinstance(e, dict) and (SHIPPED_DIR / str(e.get("file", ""))).is_file()]


def _agent(entry: Any, base_dir: Path, agents_dir: str | None) -> AgentSpec:
    from paradox_gym.envs import validate_env_id
    from paradox_gym.sb3 import normalize_algo
    from paradox_gym.zoo import checkpoint_name, default_algo, file_sha256, find_checkpoint, search_dirs

    if not isinstance(entry, dict):
        raise UserInputError(f"each agent must be a mapping with keys {', '.join(AGENT_KEYS)}, got {shown(entry)}")
    for key in entry:
        if key not in AGENT_KEYS:
            raise UserInputError(f"unknown agent key {shown(key)}; valid: {', '.join(AGENT_KEYS)}")
    for key in AGENT_KEYS:
        if entry.get(key) is not None and not isinstance(entry[key], str):
            raise UserInputError(f"agent key {key!r} must be a string, got {shown(entry[key])}")
    if entry.get("path") is not None and entry.get("folder") is not None:
        raise UserInputError(f"agent {shown(entry)} names both a path and a folder; give one of them")
    for key in ("path", "folder"):
        if entry.get(key) is not None:
            return _file_agent(entry, key, base_dir, agents_dir)
    if "env" not in entry:
        raise UserInputError(f"agent {shown(entry)} has no 'env' (the Gymnasium env id)")
    env_id = validate_env_id(entry["env"])
    algo = normalize_algo(entry["algo"]) if entry.get("algo") is not None else None
    algo = algo or default_algo(env_id, agents_path=agents_dir)
    found = find_checkpoint(algo, env_id, agents_dir)
    if found is None:
        searched = " or ".join(str(d) for d in search_dirs(agents_dir))
        raise AgentNotFoundError(
            f"no {algo} agent for {env_id} in {searched} (expected {checkpoint_name(algo, env_id)}); train one "
            f"with: paradox-gym train --algo {algo} --env {env_id}")
    return _with_stats(AgentSpec(env_id, algo, None, str(found), file_sha256(found)), agents_dir)


def _file_agent(entry: Mapping[str, Any], key: str, base_dir: Path, agents_dir: str | None) -> AgentSpec:
    """The agent of a ``path`` (a zip or an rl-zoo3 run folder) or ``folder`` entry, resolved as evaluate
    resolves it (:func:`~paradox_gym.sb3.agent_file.resolve_agent_file`): env, algorithm (given, the run's
    ``args.yml``, else read from the zip), env_kwargs and normalisation. Anything else is refused here."""
    from paradox_gym.sb3.agent_file import resolve_agent_file
    from paradox_gym.zoo import file_sha256

    value = entry[key]
    if not value.strip() or "\0" in value:
        raise UserInputError(f"agent {key} must be a {'folder' if key == 'folder' else 'file'} name, got {shown(value)}")
    target = Path(value)
    target = target if target.is_absolute() else base_dir / target
    _check_agent_path(target, key)
    found = resolve_agent_file(target, entry.get("env"), entry.get("algo"))
    _check_agent_file(found.zip_path)
    agent = AgentSpec(found.env_id, found.algo, str(found.zip_path), str(found.zip_path), file_sha256(found.zip_path))
    return _with_stats(agent, agents_dir)


def _check_agent_path(target: Path, key: str) -> None:
    """A grid agent's ``path``: an SB3 agent zip or an rl-zoo3 run folder; its ``folder``: a run folder.
    Anything else (a text file, a FIFO, a device) is refused by name, before anything measures."""
    import stat
    import zipfile

    try:
        info = os.stat(target)
    except FileNotFoundError:
        raise AgentNotFoundError(f"agent {key} {str(target)!r} does not exist") from None
    except OSError as exc:
        raise UserInputError(f"agent {key} {str(target)!r} cannot be read ({exc.strerror or exc})") from None
    if stat.S_ISDIR(info.st_mode):
        return  # resolve_agent refuses a folder that is not an rl-zoo3 run
    if key == "folder":
        raise UserInputError(f"agent folder {str(target)!r} is not a directory (an rl-zoo3 run folder)")
    _check_agent_file(target)
    try:
        is_zip = zipfile.is_zipfile(target)
    except OSError as exc:
        raise UserInputError(f"agent file {str(target)!r} cannot be read ({exc.strerror or exc})") from None
    if not is_zip:
        raise UserInputError(f"agent path {str(target)!r} is neither an SB3 agent zip nor an rl-zoo3 run folder")


def _check_agent_file(file: Path) -> None:
    """An agent path of a grid: an existing regular file of at most ``MAX_AGENT_FILE_BYTES`` (checked with
    ``stat`` before its sha256 is taken: a FIFO, a device or a huge file is never read)."""
    import stat

    try:
        info = os.stat(file)
    except FileNotFoundError:
        raise AgentNotFoundError(f"agent file {str(file)!r} does not exist") from None
    except OSError as exc:
        raise UserInputError(f"agent file {str(file)!r} cannot be read ({exc.strerror or exc})") from None
    if stat.S_ISDIR(info.st_mode):
        raise UserInputError(f"agent file {str(file)!r} is a directory; a grid names agent zips")
    if not stat.S_ISREG(info.st_mode):
        raise UserInputError(f"agent file {str(file)!r} is not a regular file (a FIFO, socket or device)")
    if info.st_size > limits.MAX_AGENT_FILE_BYTES:
        raise UserInputError(f"agent file {str(file)!r} is {info.st_size} bytes; at most "
                             f"{limits.MAX_AGENT_FILE_BYTES} (MAX_AGENT_FILE_BYTES)")


def _with_stats(agent: AgentSpec, agents_dir: str | None) -> AgentSpec:
    """``agent`` with the sha256 of the normalisation statistics evaluate will load with it (if any)."""
    from paradox_gym.zoo import file_sha256

    stats = vecnormalize_file(agent, agents_dir)
    return dataclasses.replace(agent, vecnormalize_sha256=file_sha256(stats)) if stats is not None else agent


def _methods(doc: Mapping[str, Any]) -> list[str]:
    """The grid's compression methods, canonical, each once (the baseline is measured in every cell)."""
    methods: list[str] = []
    for m in _list(doc, "methods"):
        if not isinstance(m, str):
            raise UserInputError(f"grid key 'methods' lists {shown(m)}, not a method name")
        name = canonical_method(m)
        if name == BASELINE:
            continue
        if name in methods:
            raise UserInputError(f"grid lists method {name!r} twice")
        methods.append(name)
    if not methods:
        raise UserInputError("grid has no compression method besides the baseline 'none'")
    return methods


def _amounts(doc: Mapping[str, Any]) -> list[float]:
    """The grid's amounts, each checked and listed once (default: DEFAULT_AMOUNTS)."""
    if "amounts" not in doc:
        return list(DEFAULT_AMOUNTS)
    amounts = [check_amount(a) for a in _list(doc, "amounts")]
    if len(set(amounts)) != len(amounts):
        raise UserInputError(f"grid lists an amount twice: {shown(amounts)}")
    return amounts


def _settings(doc: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The shared settings the grid gives (each key checked by its declaration): EvalSettings fields, and keys
    this version's evaluate has no field for, accepted only at their unsupported default."""
    have = settings_fields()
    settings: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for name, key in GRID_KEYS.items():
        if name not in doc:
            continue
        value = key.check(doc[name])
        if key.field in have:
            settings[key.field] = value
        elif value == key.unsupported_default:
            extra[key.field] = value
        else:
            raise UserInputError(
                f"grid key {name!r} = {shown(value)} is not supported by this version's evaluate "
                f"(EvalSettings has no {key.field!r}); valid: {key.unsupported_default!r}")
    return settings, extra


def parse_grid(doc: Any, *, base_dir: str | Path = ".", agents_dir: str | None = None) -> Grid:
    """Validate a parsed grid document (see the module docstring); UserInputError names what is wrong."""
    valid = (*CELL_KEYS, *GRID_KEYS, REMEASURE)
    if not isinstance(doc, dict):
        raise UserInputError(f"a grid file must be a mapping of keys ({', '.join(valid)}), got {type(doc).__name__}")
    check_document(doc)  # a document built in Python is held to the file's bounds too
    for key in doc:
        if key not in valid:
            raise UserInputError(f"unknown grid key {shown(key)}; valid: {', '.join(valid)}")
    for key in ("agents", "methods"):
        if key not in doc:
            raise UserInputError(f"grid has no {key!r} (required keys: agents, methods)")

    raw_agents: list[Any] = (_shipped_agents() if doc["agents"] == SHIPPED else _list(doc, "agents"))

    methods = _methods(doc)
    amounts = _amounts(doc)
    runtimes = _runtimes(doc, methods) if "runtimes" in doc else None
    per_agent = sum((len(amounts) if METHOD_TABLE[m].uses_amount else 1)
                    * (1 if runtimes is None else sum(m in ms for ms in runtimes.values())) for m in methods)
    if len(raw_agents) * per_agent > limits.MAX_GRID_CELLS:  # before any agent file is hashed
        raise UserInputError(f"grid has {len(raw_agents) * per_agent} cells ({len(raw_agents)} agents x {per_agent} "
                             f"per agent); at most {limits.MAX_GRID_CELLS} (MAX_GRID_CELLS): split it into grids")
    agents = tuple(_agent(a, Path(base_dir), agents_dir) for a in raw_agents)
    if len({(a.env_id, a.algo, a.sha256) for a in agents}) != len(agents):
        raise UserInputError("grid lists the same agent twice")

    settings, extra = _settings(doc)
    if agents_dir is not None:
        settings["agents_dir"] = str(agents_dir)
    rule = parse_remeasure(doc[REMEASURE], settings.get("replicates", DEFAULT_REPLICATES)) if REMEASURE in doc \
        else None
    source = json.loads(json.dumps(doc, default=str))
    return Grid(tuple(agents), tuple(methods), tuple(amounts), settings, extra, source, agents_dir, runtimes, rule)


def _runtimes(doc: Mapping[str, Any], methods: list[str]) -> dict[str, tuple[str, ...]]:
    """The grid's ``runtimes``: a list (every method on each runtime) or a mapping runtime -> its methods (a
    list of the grid's methods, or ``all``); each runtime checked (installed), each method one the grid
    lists, every method on at least one runtime."""
    value = doc["runtimes"]
    if isinstance(value, Mapping):
        if not value:
            raise UserInputError("grid key 'runtimes' is an empty mapping; give runtime: [methods] or runtime: all")
        entries = list(value.items())
    else:
        entries = [(r, ALL_METHODS) for r in _list(doc, "runtimes")]
    out: dict[str, tuple[str, ...]] = {}
    for runtime, listed in entries:
        name = check_runtime(runtime)
        if name in out:
            raise UserInputError(f"grid lists runtime {name!r} twice")
        if listed == ALL_METHODS:
            out[name] = tuple(methods)
            continue
        chosen = [listed] if isinstance(listed, str) else listed
        if not isinstance(chosen, list) or not chosen:
            raise UserInputError(f"grid runtime {name!r} must list methods of the grid or say {ALL_METHODS!r}, "
                                 f"got {shown(listed)}")
        names = []
        for m in chosen:
            if not isinstance(m, str):
                raise UserInputError(f"grid runtime {name!r} lists {shown(m)}, not a method name")
            method = canonical_method(m)
            if method not in methods:
                raise UserInputError(f"grid runtime {name!r} lists method {method!r}, which the grid's 'methods' "
                                     f"do not; valid: {', '.join(methods)}")
            if method not in names:
                names.append(method)
        out[name] = tuple(m for m in methods if m in names)  # grid order
    missing = [m for m in methods if not any(m in ms for ms in out.values())]
    if missing:
        raise UserInputError(f"grid method {', '.join(missing)} runs on no runtime; add it to a runtime's list or "
                             f"use {ALL_METHODS!r}")
    return out


__all__ = ["ALL_METHODS", "AGENT_KEYS", "CELL_KEYS", "GRID_KEYS", "SHIPPED", "AgentSpec", "Cell", "Grid", "GridKey",
           "load_grid", "parse_grid", "settings_fields"]

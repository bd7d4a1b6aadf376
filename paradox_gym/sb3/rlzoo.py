"""rl-zoo3 run folders: which zip, environment, ``env_kwargs`` and normalisation an agent was trained with.

rl-zoo3 (``python -m rl_zoo3.train --algo ppo --env Hopper-v4``) writes::

    logs/ppo/Hopper-v4_1/
        Hopper-v4.zip            the final model
        best_model.zip           the best model of the periodic evaluations (when they ran)
        Hopper-v4/
            args.yml             the command-line arguments: env, algo, env_kwargs, seed, ...
            config.yml           the hyperparameters: normalize, n_envs, policy_kwargs, env_wrapper, ...
            env_kwargs.yml       (some versions) the env_kwargs again; not read here
            vecnormalize.pkl     VecNormalize statistics (normalize: true)

A ``config.yml``, ``args.yml`` or ``env_kwargs.yml`` that is there but is not a regular file (a directory, FIFO,
device such as a link to ``/dev/zero``, a dangling link) is refused by name: skipping it would skip its
settings (normalize, env_kwargs, env_wrapper) without a word.

:func:`resolve_agent` accepts the run folder or a zip inside it (or any zip) and returns an
:class:`AgentSource`. The YAML files are read with PyYAML's safe loader extended by exactly one tag,
``!!python/object/apply:collections.OrderedDict`` (how rl-zoo3 dumps its ordered dicts), built as a plain
dict; any other ``!!python/...`` tag is refused with a one-line error. ``normalize`` written as a string
(``"{'norm_obs': False, 'norm_reward': True}"``) is parsed with :func:`ast.literal_eval` (literals only).
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from paradox_gym._util.cli import one_line
from paradox_gym.errors import AgentNotFoundError, UnsafeAgentError, UserInputError
from paradox_gym.limits import MAX_JSON_DEPTH, MAX_YAML_BYTES
from paradox_gym.sb3.untrusted import open_agent_file
from paradox_gym.sb3.vecnormalize import VECNORMALIZE_NAME, find_vecnormalize

ORDERED_DICT_TAG = "tag:yaml.org,2002:python/object/apply:collections.OrderedDict"
#: rl-zoo3 hyperparameters that wrap the environment in ways the evaluation does not reproduce (refused).
UNSUPPORTED_CONFIG_KEYS = ("env_wrapper", "frame_stack", "vec_env_wrapper")
BEST_MODEL = "best_model.zip"
#: Most values (mappings, lists and scalars, each alias expansion counted again) a config may hold: YAML
#: aliases let a 1 kB file describe 10**12 values (a "billion laughs"), which printing or saving would expand.
MAX_YAML_VALUES = 100_000


class _ZooLoader(yaml.SafeLoader):
    """SafeLoader + rl-zoo3's OrderedDict tag (built as a dict); every other unknown tag is refused."""


def _ordered_dict(loader: yaml.SafeLoader, node: yaml.Node) -> dict[Any, Any]:
    if not isinstance(node, yaml.SequenceNode):
        raise yaml.constructor.ConstructorError(None, None, "OrderedDict tag without a list of pairs",
                                                node.start_mark)
    args = loader.construct_sequence(node, deep=True)
    items = args[0] if args else []
    if len(args) > 1 or not isinstance(items, list) or not all(isinstance(p, list) and len(p) == 2 for p in items):
        raise yaml.constructor.ConstructorError(None, None, "OrderedDict tag without a list of [key, value] pairs",
                                                node.start_mark)
    return {k: v for k, v in items}


def _refuse(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> Any:
    raise UnsafeAgentError(f"YAML tag {node.tag!r} is refused (only {ORDERED_DICT_TAG!r} is read)")


_ZooLoader.add_constructor(ORDERED_DICT_TAG, _ordered_dict)
_ZooLoader.add_multi_constructor("tag:yaml.org,2002:python/", _refuse)
_ZooLoader.add_multi_constructor("!", _refuse)


def _check_expanded_size(value: Any, path: Path) -> None:
    """UserInputError when ``value`` nests deeper than MAX_JSON_DEPTH or holds more than MAX_YAML_VALUES
    values once its YAML aliases are expanded (a recursive alias never ends: it is refused the same way)."""
    count = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        count += 1
        if count > MAX_YAML_VALUES:
            raise UserInputError(
                f"{path} expands to more than {MAX_YAML_VALUES} values (YAML aliases?); not an rl-zoo3 config"
            )
        if depth > MAX_JSON_DEPTH:
            raise UserInputError(f"{path} nests deeper than {MAX_JSON_DEPTH} levels; not an rl-zoo3 config")
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for pair in item.items() for v in pair)
        elif isinstance(item, (list, tuple, set)):
            stack.extend((v, depth + 1) for v in item)


def load_zoo_yaml(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A ``config.yml`` / ``args.yml`` of an rl-zoo3 run as a dict (see the module docstring).

    The file must be a regular file of at most MAX_YAML_BYTES, nested at most MAX_JSON_DEPTH levels and
    holding at most MAX_YAML_VALUES values once aliases are expanded.
    """
    path = Path(path)
    with open_agent_file(path, "rl-zoo3 config") as fh:
        raw = fh.read(MAX_YAML_BYTES + 1)
    if len(raw) > MAX_YAML_BYTES:
        raise UserInputError(f"{path} is over {MAX_YAML_BYTES} bytes; not an rl-zoo3 config")
    try:
        loaded = yaml.load(raw.decode("utf-8"), Loader=_ZooLoader)  # noqa: S506 - SafeLoader subclass, see above
    except UnsafeAgentError as exc:
        raise UnsafeAgentError(f"{path}: {exc}") from None
    except RecursionError:
        raise UserInputError(f"{path} nests too deeply; not an rl-zoo3 config") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise UserInputError(f"{path} is not valid YAML: {one_line(exc)[:200]}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise UserInputError(f"{path} does not hold a mapping (rl-zoo3 writes one)")
    _check_expanded_size(loaded, path)
    return loaded


def _normalize_setting(value: Any, where: Path) -> bool | None:
    """Whether rl-zoo3's ``normalize`` hyperparameter normalised observations (None: not said)."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            raise UserInputError(f"{where}: normalize={value!r} is neither true/false nor a dict literal") from None
    if isinstance(value, bool):
        return value
    if isinstance(value, dict):
        return bool(value.get("norm_obs", True))
    raise UserInputError(f"{where}: normalize={value!r} is neither true/false nor a dict of VecNormalize options")


@dataclass(frozen=True)
class AgentSource:
    """Where an agent comes from and what its run folder says about it.

    ``zip_path``: the checkpoint to load. ``env_id`` / ``env_kwargs`` / ``normalize`` / ``algo``: from the
    run's ``args.yml`` / ``config.yml`` (None: nothing says). ``vecnormalize_path``: statistics found beside
    the zip (``<stem>.vecnormalize.pkl``, ``vecnormalize.pkl``) or in the run folder. ``config_dir``: the
    folder holding ``config.yml`` (None: not an rl-zoo3 run).
    """

    zip_path: Path
    env_id: str | None = None
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    normalize: bool | None = None
    algo: str | None = None
    vecnormalize_path: Path | None = None
    config_dir: Path | None = None


#: The files of an rl-zoo3 run's config folder that must be regular files when they are there.
ZOO_FILES = ("config.yml", "args.yml", "env_kwargs.yml")


def _zoo_file(path: Path) -> bool:
    """Whether ``path`` (one of ZOO_FILES) is there: True for a regular file (a link to one included), False for
    nothing; anything else is a UserInputError naming it."""
    import stat

    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        if not path.is_symlink():
            return False
        kind = "a dangling link"
    except OSError as exc:
        raise UserInputError(f"{path} cannot be read ({exc.strerror or exc}); rl-zoo3 writes {path.name} as a "
                             "regular file") from None
    else:
        if stat.S_ISREG(mode):
            return True
        kind = ("a directory" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode)
                else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a regular file")
    raise UserInputError(f"{path} is {kind}, not a regular file: rl-zoo3 writes {path.name} as a file, and its "
                         "settings would be skipped; replace or remove it")


def _config_dir(run: Path, env_hint: str | None) -> Path | None:
    """The subfolder of ``run`` holding rl-zoo3's ``config.yml`` / ``args.yml``: ``<run>/<env_hint>/`` for a
    final-model zip (rl-zoo3 names both after the env id), else the one such subfolder of ``run``. Each of
    ZOO_FILES there must be a regular file."""
    if env_hint:
        folder = run / env_hint
        present = [_zoo_file(folder / name) for name in ZOO_FILES]  # each checked, none skipped
        return folder if present[0] or present[1] else None
    found = sorted(p.parent for p in run.glob("*/config.yml")) or sorted(p.parent for p in run.glob("*/args.yml"))
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        raise UserInputError(f"{run} holds several rl-zoo3 configs ({names}); pass the zip of the run you mean")
    if found:
        for name in ZOO_FILES:
            _zoo_file(found[0] / name)
    return found[0] if found else None


def resolve_agent(path: str | os.PathLike[str], *, best: bool = False) -> AgentSource:
    """The :class:`AgentSource` of ``path``: an agent zip, or an rl-zoo3 run folder (its final model, or
    ``best_model.zip`` with ``best``). Raises AgentNotFoundError naming the missing file."""
    path = Path(path)
    if not path.exists():
        raise AgentNotFoundError(f"agent {str(path)!r} does not exist")
    if path.is_dir():
        run, zip_path = path, None
    else:
        run, zip_path = path.parent, path
    config_dir = _config_dir(run, zip_path.stem if zip_path is not None and zip_path.name != BEST_MODEL else None)
    args = load_zoo_yaml(config_dir / "args.yml") if config_dir and _zoo_file(config_dir / "args.yml") else {}
    config = load_zoo_yaml(config_dir / "config.yml") if config_dir and _zoo_file(config_dir / "config.yml") else {}
    env_id = args.get("env") if isinstance(args.get("env"), str) else (config_dir.name if config_dir else None)
    if best:
        zip_path = run / BEST_MODEL
        if not zip_path.is_file():
            raise AgentNotFoundError(f"--best: {zip_path} does not exist (rl-zoo3 writes it when evaluations ran)")
    elif zip_path is None:
        candidates = [run / f"{env_id}.zip"] if env_id else []
        zip_path = next((c for c in candidates if c.is_file()), None)
        if zip_path is None:
            zips = sorted(p for p in run.glob("*.zip") if p.name != BEST_MODEL)
            if not zips and config_dir is None:
                raise UserInputError(
                    f"agent {str(run)!r} is not a file (expected an SB3 agent zip) nor an rl-zoo3 run folder "
                    f"(no <env id>/config.yml or args.yml, no zip in it)"
                )
            if len(zips) != 1:
                listed = ", ".join(p.name for p in zips) or "none"
                raise AgentNotFoundError(
                    f"{run}: cannot tell which zip is the agent (expected {env_id or '<env id>'}.zip; found {listed}); "
                    f"pass the zip, or --best for {BEST_MODEL}"
                )
            zip_path = zips[0]
    env_kwargs: dict[str, Any] = {}
    for source in (config.get("env_kwargs"), args.get("env_kwargs")):  # the command line overrides the file
        if isinstance(source, dict):
            env_kwargs.update(source)
        elif source not in (None, {}):
            raise UserInputError(f"{config_dir}: env_kwargs={source!r} is not a mapping")
    normalize = _normalize_setting(config.get("normalize"), config_dir / "config.yml") if config_dir else None
    for key in UNSUPPORTED_CONFIG_KEYS:  # they change what the agent observes; evaluating without them misleads
        if config.get(key) not in (None, False, 0, "", [], {}):
            raise UserInputError(
                f"{config_dir / 'config.yml'} sets {key}: {config[key]!r}, which paradox_gym does not apply: the "
                f"agent would be evaluated on other observations than it was trained on"
            )
    stats = find_vecnormalize(zip_path, env_id)
    if stats is None and config_dir is not None and (config_dir / VECNORMALIZE_NAME).is_file():
        stats = config_dir / VECNORMALIZE_NAME
    algo = args.get("algo") if isinstance(args.get("algo"), str) else None
    return AgentSource(zip_path=zip_path, env_id=env_id, env_kwargs=env_kwargs, normalize=normalize,
                       algo=algo, vecnormalize_path=stats, config_dir=config_dir)


#: The environment of a zoo evaluation when nothing names one.
DEFAULT_ENV_ID = "CartPole-v1"


class AgentSettingError(UserInputError):
    """A bad agent-related setting; ``field`` names the EvalSettings field (the CLI shows its flag)."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name


def _field_error(field_name: str, message: str) -> AgentSettingError:
    return AgentSettingError(field_name, message)


def resolve_agent_settings(settings: Any) -> dict[str, Any]:
    """The agent-related fields of an ``EvalSettings``, resolved: ``env_id`` (given, else the run folder's,
    else CartPole-v1 for a zoo agent), ``agent_path`` (the zip to load), ``env_kwargs`` and
    ``vecnormalize_path`` (given, else found). Idempotent: resolving resolved settings changes nothing.

    Raises UserInputError when the given env disagrees with the run folder, when nothing names the env of a
    user's zip, when ``best`` has no run folder, when statistics are given and refused at once, and when the
    zip was trained with VecNormalize but no statistics are found (unless ``no_vecnormalize``).
    """
    from paradox_gym.envs import validate_env_id
    from paradox_gym.sb3.vecnormalize import VECNORMALIZE_SUFFIX, trained_with_normalization

    if settings.vecnormalize_path is not None and settings.no_vecnormalize:
        raise _field_error("vecnormalize_path", "vecnormalize_path and no_vecnormalize contradict each other; "
                                                "give one of them")
    if settings.env_kwargs is not None and not isinstance(settings.env_kwargs, dict):
        raise _field_error("env_kwargs", f"env_kwargs must be a mapping, got {settings.env_kwargs!r}")
    out: dict[str, Any] = {}
    if settings.vecnormalize_path is not None:
        stats_path = Path(settings.vecnormalize_path)
        if not stats_path.is_file():
            raise AgentNotFoundError(f"normalisation statistics {str(stats_path)!r} do not exist")
        out["vecnormalize_path"] = str(stats_path)
    if settings.agent_path is None:
        if settings.best:
            raise _field_error("best", "best needs an agent path (an rl-zoo3 run folder holding best_model.zip)")
        out["env_id"] = validate_env_id(settings.env_id if settings.env_id is not None else DEFAULT_ENV_ID)
        return out
    source = resolve_agent(settings.agent_path, best=settings.best)
    given = settings.env_id
    if given is not None and source.env_id is not None and given != source.env_id:
        raise _field_error(
            "env_id", f"env_id {given!r} disagrees with {source.config_dir}, which says the agent was trained on "
                      f"{source.env_id!r}; leave the environment out or pass the matching agent"
        )
    env_id = given if given is not None else source.env_id
    if given is None and env_id is not None and ":" in env_id:  # a file never decides what code is imported
        raise _field_error(
            "env_id", f"{source.config_dir} names the environment {env_id!r}, which would import module "
                      f"{env_id.partition(':')[0]!r}; a file is never allowed to import code: name the environment "
                      f"yourself (--env {env_id}, env_id=...) if you trust that module")
    if env_id is None:
        raise _field_error("env_id", f"env_id is needed: nothing in {settings.agent_path} names the environment "
                                     f"(no rl-zoo3 args.yml / config.yml beside it)")
    out["env_id"] = validate_env_id(env_id)
    out["agent_path"] = str(source.zip_path)
    if settings.env_kwargs is None and source.env_kwargs:
        out["env_kwargs"] = dict(source.env_kwargs)
    if settings.no_vecnormalize or "vecnormalize_path" in out:
        return out
    if source.vecnormalize_path is not None:
        out["vecnormalize_path"] = str(source.vecnormalize_path)
        return out
    if source.normalize or (source.normalize is None and trained_with_normalization(source.zip_path)):
        zip_path = source.zip_path
        expected = [zip_path.with_name(zip_path.stem + VECNORMALIZE_SUFFIX), zip_path.parent / VECNORMALIZE_NAME]
        if source.config_dir is not None:
            expected.append(source.config_dir / VECNORMALIZE_NAME)
        why = (f"{source.config_dir / 'config.yml'} says normalize" if source.normalize
               else "its data has a non-null _last_original_obs")
        raise _field_error(
            "vecnormalize_path",
            f"{zip_path} was trained with VecNormalize ({why}) but its statistics are missing: no "
            f"{' or '.join(str(p) for p in expected)}; give the file (--vecnormalize PATH, vecnormalize_path=), "
            f"or --no-vecnormalize (no_vecnormalize=True) to evaluate it on raw observations"
        )
    return out

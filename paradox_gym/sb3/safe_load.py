"""Load a Stable-Baselines3 agent zip without unpickling anything.

An SB3 zip holds ``data`` (JSON; fields that JSON cannot express are stored as
``{":type:": ..., ":serialized:": <base64 cloudpickle>}``), ``policy.pth`` (the policy's state dict),
optimizer state, ``pytorch_variables.pth``, ``_stable_baselines3_version`` and ``system_info.txt``.
``PPO.load`` unpickles the ``:serialized:`` blobs, so a crafted zip runs arbitrary code when loaded.

:func:`load_zip` instead rebuilds the agent from what can be read without executing anything:

* the algorithm: inferred from the state dict's layout, with plain JSON fields telling PPO, TRPO and A2C
  apart (``n_epochs``; ``cg_max_steps`` / ``n_critic_updates``), SAC from TQC (quantile critics,
  ``top_quantiles_to_drop_per_net``) and TD3 from DDPG (number of critics, ``policy_delay``,
  ``target_noise_clip``); QR-DQN from its ``quantile_net``. An ``algo`` argument those contradict is
  refused, and it decides where they are missing. sb3-contrib's TRPO, TQC and QR-DQN are rebuilt like
  SB3's own algorithms (their policy classes are accepted by name);
* gSDE policies (``use_sde``): recognised from the shape of ``log_std`` and rebuilt with ``use_sde=True``;
  their deterministic action is the mean action, untouched by the exploration noise;
* the network: layer sizes from the tensor shapes in ``policy.pth``; the activation function from the
  plain-text ``activation_fn`` entry SB3 writes beside a serialized ``policy_kwargs`` (matched against a
  fixed list of ``torch.nn`` classes), else the algorithm's default (Tanh for PPO/A2C, ReLU otherwise);
* the observation and action spaces: from the environment (the saved spaces are pickles), checked
  against the state dict's input and output sizes;
* the weights: ``torch.load(..., weights_only=True)`` from memory, checked to be a plain state dict of
  finite float tensors (:mod:`paradox_gym.sb3.untrusted`), then a strict ``load_state_dict``.

Every size the file names is capped before it is read or built (:mod:`paradox_gym.limits`): the file
(``MAX_AGENT_FILE_BYTES``, a regular file), its members (``MAX_ZIP_MEMBERS``; ``data`` ``MAX_JSON_BYTES``
and ``MAX_JSON_DEPTH``, ``policy.pth`` ``MAX_WEIGHTS_BYTES``), the network read from the weights' shapes
(``MAX_LAYER_WIDTH``, ``MAX_LAYERS``, ``MAX_CRITICS``, ``MAX_SPACE_ENTRIES``, ``MAX_ACTIONS``) and the
rebuilt policy's parameter count (``MAX_POLICY_PARAMETERS``). CNN, MultiInput (Dict observation) and
custom policies are refused by name, from the plain-JSON ``data``, before the weights are read.

Serialized blobs are never decoded. Optimizer state and ``pytorch_variables.pth`` are not loaded: the
result is an agent for inference (off-policy agents get a one-transition replay buffer).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from paradox_gym._util.cli import one_line
from paradox_gym.envs import close_env, make_env, validate_env_id
from paradox_gym.errors import UnsafeAgentError, UserInputError
from paradox_gym.limits import MAX_JSON_BYTES, MAX_WEIGHTS_BYTES
from paradox_gym.sb3.algorithms import ALGORITHMS, ALGOS, algo_class, check_spaces, normalize_algo
from paradox_gym.sb3.untrusted import (
    check_state_dict,
    decode_json,
    finite_number,
    load_tensor_file,
    open_agent_file,
    open_zip,
    read_member,
)


#: Layout families (what the state dict can tell apart) -> algorithms sharing that layout.
from paradox_gym.sb3.layout import check_layout_size, layout_of, split_quantiles

FAMILIES: dict[str, tuple[str, ...]] = {
    "actor-critic": ("PPO", "A2C", "TRPO"),
    "dqn": ("DQN",),
    "qrdqn": ("QRDQN",),
    "sac": ("SAC", "TQC"),
    "td3": ("TD3", "DDPG"),
}
DEFAULT_ACTIVATION: dict[str, str] = {a.name: a.default_activation for a in ALGORITHMS.values()}
#: torch.nn activation classes accepted by name (SB3 writes "<class 'torch.nn.modules.activation.X'>").
ACTIVATIONS: tuple[str, ...] = ("Tanh", "ReLU", "LeakyReLU", "ELU", "SELU", "GELU", "SiLU", "Sigmoid", "Softplus")
#: Optimizers accepted by name (only matter if the loaded agent is trained further).
OPTIMIZERS: tuple[str, ...] = ("Adam", "AdamW", "RMSprop", "SGD")
#: Plain policy_kwargs passed through when they have the right type.
_PLAIN_POLICY_KWARGS: dict[str, tuple[type, ...]] = {
    "ortho_init": (bool,),
    "log_std_init": (int, float),
    "squash_output": (bool,),
    "full_std": (bool,),
    "use_expln": (bool,),
    "clip_mean": (int, float),
    "normalize_images": (bool,),
    "share_features_extractor": (bool,),
}
#: Numeric policy_kwargs and the range accepted (SB3 clamps log std to [-20, 2]; clip_mean is a bound on mu).
_NUMBER_POLICY_KWARGS: dict[str, tuple[float, float]] = {
    "log_std_init": (-20.0, 20.0),
    "clip_mean": (0.0, 1e6),
}
#: policy_kwargs entries that need no action (derived elsewhere, or irrelevant for inference).
_DERIVED_POLICY_KWARGS = ("net_arch", "n_critics", "n_quantiles", "use_sde", "activation_fn", "optimizer_class",
                          "optimizer_kwargs")
#: Policy classes rebuilt (by the ``__init__`` name SB3 writes in plain text), and the modules they may come from.
_SB3_POLICY_CLASSES = ("ActorCriticPolicy", "DQNPolicy", "SACPolicy", "TD3Policy", "TQCPolicy", "QRDQNPolicy")
_POLICY_MODULES = ("stable_baselines3.", "sb3_contrib.")
#: Off-policy algorithms: rebuilt with a one-transition replay buffer (inference only).
_OFF_POLICY = ("DQN", "SAC", "TD3", "DDPG", "TQC", "QRDQN")
#: Refuse a ``policy.pth`` larger than this (bytes, uncompressed): guards against decompression bombs.
MAX_MEMBER_BYTES = MAX_WEIGHTS_BYTES
#: Refuse a ``data`` JSON larger than this (bytes, uncompressed). SB3 writes a few kB to a few hundred kB;
#: parsing JSON takes several times its size in memory.
MAX_DATA_BYTES = MAX_JSON_BYTES
#: Largest uncompressed size read per member (bytes); other members are never read.
_MEMBER_LIMITS: dict[str, int] = {
    "data": MAX_DATA_BYTES,
    "policy.pth": MAX_MEMBER_BYTES,
    "_stable_baselines3_version": 1024,
}
_KIND = "an SB3 agent zip"
#: Policy classes (the ``__init__`` name SB3 writes in plain text) of image and Dict observations.
_CNN_POLICY = re.compile(r"Cnn", re.IGNORECASE)
_MULTI_INPUT_POLICY = re.compile(r"MultiInput", re.IGNORECASE)


# --------------------------------------------------------------------------------------------------
# reading the archive


def _read_members(path: Path) -> dict[str, bytes]:
    """The ``data``, ``policy.pth`` and version members of an SB3 zip (size-capped, see _MEMBER_LIMITS).

    The file must be a regular file of at most MAX_AGENT_FILE_BYTES (:func:`open_agent_file`) with at most
    MAX_ZIP_MEMBERS members, none named twice. Members are looked up by exact name and read into memory;
    nothing is extracted to disk, so member names (``../x``, absolute paths) never matter. The declared size
    is checked before decompressing, and at most the cap + 1 bytes are read.
    """
    where = str(path)
    with open_agent_file(path, "agent file") as fh, open_zip(fh, where, _KIND) as archive:
        members: dict[str, bytes] = {}
        for name, limit in _MEMBER_LIMITS.items():
            try:
                info = archive.getinfo(name)
            except KeyError:
                continue
            if name == "_stable_baselines3_version" and info.file_size > limit:
                continue  # informational only: skip, do not refuse
            members[name] = read_member(archive, name, limit, where, _KIND)
    missing = [n for n in ("data", "policy.pth") if n not in members]
    if missing:
        raise UserInputError(f"{path} is not an SB3 agent zip (missing {', '.join(missing)})")
    return members


def _read_data(path: Path, raw: bytes) -> dict[str, Any]:
    try:
        data = decode_json(raw)
    except ValueError as exc:  # bad UTF-8, bad JSON, over-long integers, deep nesting
        raise UserInputError(f"{path} is not an SB3 agent zip (its 'data' is not JSON: {exc})") from None
    if not isinstance(data, dict):
        raise UserInputError(f"{path} is not an SB3 agent zip (its 'data' is not a JSON object)")
    return data


def _read_state_dict(path: Path, raw: bytes) -> dict[str, Any]:
    """policy.pth as a clean OrderedDict of float tensors (see :func:`check_state_dict`).

    A CNN or custom features extractor is named before any size check (SB3 stores a shared extractor's
    weights under three names, which would otherwise read as an oversized file).
    """
    where = str(path)
    loaded = load_tensor_file(raw, where, "policy.pth")
    if isinstance(loaded, dict):
        _refuse_extractor_weights(loaded, path)
    return check_state_dict(loaded, where, "policy.pth", len(raw))


def _refuse_extractor_weights(state: dict[Any, Any], path: Path) -> None:
    """UnsafeAgentError when the state dict holds features-extractor weights (an MLP policy's Flatten has none)."""
    for key in state:
        if not isinstance(key, str) or "features_extractor." not in key:
            continue
        if ".cnn" in key:
            raise UnsafeAgentError(
                f"CNN policies are not supported (only MLP policies): {path} (its state dict holds CNN "
                f"features extractor weights such as {key!r})"
            )
        raise UnsafeAgentError(
            f"{path}: state-dict entry {key!r} belongs to a custom features extractor, which cannot be rebuilt "
            f"without unpickling code; only MLP policies of {', '.join(ALGOS)} can be loaded safely"
        )


def _refuse_policy_class(data: dict[str, Any], path: Path) -> None:
    """Refuse, from the plain-JSON ``data`` alone, policies the safe loader cannot rebuild: CNN and
    MultiInput (Dict observation) policies, custom policy classes and features extractors."""
    policy_class = data.get("policy_class")
    if isinstance(policy_class, dict):
        module = policy_class.get("__module__")
        init = policy_class.get("__init__")
        match = re.match(r"<function (\w+)\.__init__", init) if isinstance(init, str) else None
        name = match.group(1) if match else None
        if name is not None and _CNN_POLICY.search(name):
            raise UnsafeAgentError(f"CNN policies are not supported (only MLP policies): {path} (policy class {name})")
        if name is not None and _MULTI_INPUT_POLICY.search(name):
            raise UnsafeAgentError(
                f"{path}: policy class {name} takes Dict observations; only MLP policies on Box or Discrete "
                f"observations are supported"
            )
        if isinstance(module, str) and not module.startswith(_POLICY_MODULES):
            raise UnsafeAgentError(f"{path}: custom policy class from module {module!r} cannot be rebuilt safely")
        if name is not None and name not in _SB3_POLICY_CLASSES:
            raise UnsafeAgentError(
                f"{path}: policy class {name} cannot be rebuilt safely (only the MLP policies "
                f"{', '.join(_SB3_POLICY_CLASSES)})"
            )
    kwargs = data.get("policy_kwargs")
    extractor = kwargs.get("features_extractor_class") if isinstance(kwargs, dict) else None
    if isinstance(extractor, str) and "cnn" in extractor.lower():
        raise UnsafeAgentError(
            f"CNN policies are not supported (only MLP policies): {path} (features extractor {extractor})"
        )


def _plain(data: dict[str, Any], key: str) -> Any:
    """A data field if it is plain JSON (not a serialized blob), else None."""
    value = data.get(key)
    if isinstance(value, dict) and ":serialized:" in value:
        return None
    return value


# --------------------------------------------------------------------------------------------------
# the network layout from the state dict


def _resolve_algo(requested: str | None, layout: dict[str, Any], data: dict[str, Any], path: Path) -> str:
    family = layout["family"]
    candidates = FAMILIES[family]
    if family == "actor-critic":
        if "n_epochs" in data:  # PPO stores n_epochs; A2C and TRPO have no such attribute
            found: str | None = "PPO"
        elif "cg_max_steps" in data or "n_critic_updates" in data:  # TRPO's conjugate-gradient settings
            found = "TRPO"
        elif "n_steps" in data and "gae_lambda" in data:
            found = "A2C"
        else:
            found = None
    elif family == "sac":  # TQC's critics output quantiles; it stores top_quantiles_to_drop_per_net
        found = "TQC" if layout["critic_out"] > 1 or "top_quantiles_to_drop_per_net" in data else "SAC"
    elif family == "td3":
        found = _td3_or_ddpg(layout, data)
    else:
        found = candidates[0]
    if requested is not None:
        algo = normalize_algo(requested)
        if algo not in candidates or (found is not None and found != algo):
            holds = found or "/".join(candidates)
            raise UserInputError(
                f"{path} holds {_article(holds)} {holds} agent, not {algo}; pass algo={holds!r} or another zip"
            )
        return algo
    if found is None:
        raise UserInputError(
            f"{path}: cannot tell which of {', '.join(candidates)} trained this agent; pass algo= one of them"
        )
    return found


def _td3_or_ddpg(layout: dict[str, Any], data: dict[str, Any]) -> str | None:
    """"TD3" or "DDPG" as the plain JSON fields decide, or None when they do not.

    SB3's DDPG is TD3 with one critic, ``policy_delay == 1`` and ``target_noise_clip == 0`` (target policy
    smoothing off): any other value of these is TD3; all three at DDPG's values (a missing clip field
    counts as 0) is DDPG. A single critic without a plain ``policy_delay`` cannot be told apart.
    """
    delay = _plain(data, "policy_delay")
    noise = _plain(data, "target_noise_clip")
    number = (int, float)
    if layout["n_critics"] != 1:
        return "TD3"
    if isinstance(delay, int) and not isinstance(delay, bool) and delay != 1:
        return "TD3"
    if isinstance(noise, number) and not isinstance(noise, bool) and noise != 0:
        return "TD3"
    if delay == 1 and not isinstance(delay, bool):
        return "DDPG"
    return None


def _article(word: str) -> str:
    """``"an"`` before names read with a leading vowel sound (A2C), else ``"a"``."""
    return "an" if word[:1].upper() in "AEIOU" else "a"


def _class_name(text: Any) -> str | None:
    """``"<class 'torch.nn.modules.activation.ReLU'>"`` -> ``("torch.nn.modules.activation", "ReLU")``."""
    if not isinstance(text, str):
        return None
    match = re.fullmatch(r"<class '([\w.]+)'>", text.strip())
    return match.group(1) if match else None


def _policy_kwargs(algo: str, data: dict[str, Any], path: Path) -> tuple[dict[str, Any], dict[str, str]]:
    """Policy kwargs rebuilt from plain JSON, and a record of where each choice came from."""
    import torch

    raw = data.get("policy_kwargs") or {}
    if not isinstance(raw, dict):
        raise UnsafeAgentError(f"{path}: policy_kwargs is not a JSON object")
    notes: dict[str, str] = {}
    kwargs: dict[str, Any] = {}
    for key, value in raw.items():
        if key in (":type:", ":serialized:"):
            continue
        if key in _PLAIN_POLICY_KWARGS:
            if key in _NUMBER_POLICY_KWARGS:
                low, high = _NUMBER_POLICY_KWARGS[key]
                kwargs[key] = finite_number(value, f"policy_kwargs {key}", str(path), low, high)
            elif isinstance(value, _PLAIN_POLICY_KWARGS[key]):
                kwargs[key] = value
            continue
        if key == "features_extractor_class":
            name = _class_name(value)
            flatten = name is not None and name.startswith("stable_baselines3.") and name.endswith(".FlattenExtractor")
            if not flatten:
                raise UnsafeAgentError(
                    f"{path}: features extractor {value!r} cannot be rebuilt safely (only FlattenExtractor)"
                )
            continue
        if key == "features_extractor_kwargs":
            if value not in ({}, None):
                raise UnsafeAgentError(f"{path}: features_extractor_kwargs {value!r} cannot be rebuilt safely")
            continue
        if key in _DERIVED_POLICY_KWARGS:
            continue
        raise UnsafeAgentError(
            f"{path}: policy_kwargs entry {key!r} is not understood by the safe loader; cannot rebuild the policy"
        )
    activation = DEFAULT_ACTIVATION[algo]
    # SB3 writes every entry of a pickled policy_kwargs beside the blob (as JSON, or as str() of the
    # object), and a plain-JSON policy_kwargs cannot hold a class: either way, no activation_fn entry
    # means none was given and SB3 used its default.
    notes["activation_fn"] = f"{activation} (default of {algo}; policy_kwargs sets none)"
    if "activation_fn" in raw:
        name = _class_name(raw["activation_fn"])
        short = name.rsplit(".", 1)[-1] if name else None
        if name is None or not name.startswith("torch.nn.") or short not in ACTIVATIONS:
            raise UnsafeAgentError(
                f"{path}: activation {raw['activation_fn']!r} is not one of torch.nn {', '.join(ACTIVATIONS)}"
            )
        activation = short
        notes["activation_fn"] = f"{activation} (from the plain-text policy_kwargs entry)"
    kwargs["activation_fn"] = getattr(torch.nn, activation)
    if "optimizer_class" in raw:
        name = _class_name(raw["optimizer_class"])
        short = name.rsplit(".", 1)[-1] if name else None
        if name is not None and name.startswith("torch.optim.") and short in OPTIMIZERS:
            kwargs["optimizer_class"] = getattr(torch.optim, short)
            opt_kwargs = raw.get("optimizer_kwargs")
            if isinstance(opt_kwargs, dict) and all(_is_number_or_numbers(v) for v in opt_kwargs.values()):
                kwargs["optimizer_kwargs"] = {k: tuple(v) if isinstance(v, list) else v for k, v in opt_kwargs.items()}
        else:
            notes["optimizer_class"] = f"{raw['optimizer_class']!r} not recognised; default optimizer used"
    return kwargs, notes


def _is_number_or_numbers(value: Any) -> bool:
    """A JSON number or a list of numbers (e.g. Adam's ``betas``)."""
    if isinstance(value, (int, float, bool)):
        return True
    return isinstance(value, list) and all(isinstance(x, (int, float)) for x in value)


# --------------------------------------------------------------------------------------------------
# spaces


def _check_spaces(layout: dict[str, Any], env_id: str, obs_space: Any, act_space: Any, path: Path) -> None:
    from gymnasium import spaces
    from stable_baselines3.common.preprocessing import get_flattened_obs_dim

    if not isinstance(obs_space, (spaces.Box, spaces.Discrete, spaces.MultiDiscrete, spaces.MultiBinary)):
        raise UnsafeAgentError(
            f"env {env_id} has observation space {obs_space}; the safe loader rebuilds MLP policies on Box or "
            f"Discrete observations only"
        )
    if isinstance(obs_space, spaces.Box) and len(obs_space.shape) == 3:
        raise UnsafeAgentError(
            f"CNN policies are not supported (only MLP policies): env {env_id} has image observations "
            f"{obs_space.shape} ({path})"
        )
    obs_dim = int(get_flattened_obs_dim(obs_space))
    if layout["obs_dim"] != obs_dim:
        shown = obs_space.shape if isinstance(obs_space, spaces.Box) else f"{obs_space} (flattened size {obs_dim})"
        raise UserInputError(
            f"{path}: agent is for observation shape ({layout['obs_dim']},) but env {env_id} has {shown}"
        )
    if layout["continuous"]:
        kind = f"continuous actions of shape ({layout['act_dim']},)"
    else:
        kind = f"{layout['act_dim']} discrete actions"
    if isinstance(act_space, spaces.Box):
        if len(act_space.shape) != 1 or not layout["continuous"] or act_space.shape[0] != layout["act_dim"]:
            raise UserInputError(f"{path}: agent has {kind} but env {env_id} has {act_space}")
    elif isinstance(act_space, spaces.Discrete):
        if layout["continuous"] or int(act_space.n) != layout["act_dim"]:
            raise UserInputError(f"{path}: agent has {kind} but env {env_id} has {act_space}")
    else:
        raise UnsafeAgentError(
            f"env {env_id} has action space {act_space}; the safe loader supports Box and Discrete actions"
        )


# --------------------------------------------------------------------------------------------------
# public entry point


def read_algo(path: str | os.PathLike[str]) -> str:
    """The algorithm that trained the agent in zip ``path``, read as :func:`load_zip` reads it (plain JSON and
    the weights' layout; nothing is unpickled, no environment is made). Raises what :func:`load_zip` raises
    for a file that is not an SB3 agent zip, and UserInputError when the file cannot tell (pass ``algo``)."""
    path = Path(path)
    members = _read_members(path)
    data = _read_data(path, members["data"])
    _refuse_policy_class(data, path)
    layout = layout_of(_read_state_dict(path, members["policy.pth"]), path)
    check_layout_size(layout, path)
    return _resolve_algo(None, layout, data, path)


def _sde_kwargs(algo: str, layout: dict[str, Any], policy_kwargs: dict[str, Any]) -> None:
    """The gSDE policy arguments the saved weights imply (full_std; SAC/TQC's clip_mean)."""
    if "full_std" in layout:
        policy_kwargs["full_std"] = layout["full_std"]
    if algo in ("SAC", "TQC"):
        if not layout["mu_clipped"]:
            policy_kwargs["clip_mean"] = 0.0  # mu is a bare Linear: saved with clip_mean 0
        elif not isinstance(policy_kwargs.get("clip_mean"), (int, float)) or policy_kwargs["clip_mean"] <= 0:
            policy_kwargs["clip_mean"] = 2.0  # SB3's default; only the Hardtanh bound matters


def _constructor_kwargs(algo: str, data: dict[str, Any], use_sde: bool) -> dict[str, Any]:
    """gamma and learning rate where the zip's plain values are sane; no replay memory; gSDE."""
    kwargs: dict[str, Any] = {}
    gamma = _plain(data, "gamma")
    if isinstance(gamma, (int, float)) and not isinstance(gamma, bool) and 0.0 <= gamma <= 1.0:
        kwargs["gamma"] = float(gamma)
    rate = _plain(data, "learning_rate")
    if isinstance(rate, (int, float)) and not isinstance(rate, bool) and 0 < rate < float("inf"):
        kwargs["learning_rate"] = float(rate)
    if algo in _OFF_POLICY:
        kwargs["buffer_size"] = 1  # inference only: no replay memory
    if use_sde:
        kwargs["use_sde"] = True
    return kwargs


def _layout_kwargs(algo: str, layout: dict[str, Any], data: dict[str, Any], path: Path,
                   policy_kwargs: dict[str, Any]) -> bool:
    """Put what the weights' layout fixes into ``policy_kwargs`` (net_arch, critics, quantiles, gSDE); returns
    whether the policy uses gSDE, refused when the zip's ``use_sde`` says otherwise."""
    policy_kwargs["net_arch"] = layout["net_arch"]
    if "n_critics" in layout:
        policy_kwargs["n_critics"] = layout["n_critics"]
    if algo == "TQC":
        policy_kwargs["n_quantiles"] = layout["critic_out"]
    use_sde = bool(layout.get("use_sde"))
    if use_sde != (_plain(data, "use_sde") is True) and _plain(data, "use_sde") is not None:
        raise UnsafeAgentError(f"{path}: use_sde={_plain(data, 'use_sde')!r} does not fit the saved weights")
    if use_sde:
        _sde_kwargs(algo, layout, policy_kwargs)
    return use_sde


def _checked_env(env_id: str, algo: str, layout: dict[str, Any], path: Path, policy_kwargs: dict[str, Any]) -> Any:
    """A fresh ``env_id`` environment whose spaces fit the weights and ``algo`` (closed when they do not)."""
    env = make_env(env_id)
    try:
        if layout["family"] == "qrdqn":
            split_quantiles(layout, env.action_space, path)
            policy_kwargs["n_quantiles"] = layout["n_quantiles"]
        _check_spaces(layout, env_id, env.observation_space, env.action_space, path)
        check_spaces(algo, env_id, env.observation_space, env.action_space)
    except BaseException:
        close_env(env)
        raise
    return env


def _rebuild(algo: str, env: Any, layout: dict[str, Any], state: dict[str, Any], path: Path,
             policy_kwargs: dict[str, Any], kwargs: dict[str, Any]) -> Any:
    """The ``algo`` model on ``env`` with the weights ``state`` loaded strictly, in evaluation mode; the
    environment is closed when either step fails."""
    # every parameter is overwritten by the strict load below: skip the (QR-based, slow) orthogonal init
    ortho_init = policy_kwargs.get("ortho_init", True)
    if layout["family"] == "actor-critic":
        policy_kwargs["ortho_init"] = False
    cls = algo_class(algo)  # an install fault is not the file's: outside the try below
    try:
        model = cls("MlpPolicy", env, policy_kwargs=policy_kwargs, device="cpu", verbose=0, **kwargs)
    except Exception as exc:  # noqa: BLE001 - any JSON value SB3 or torch rejects (e.g. optimizer_kwargs)
        close_env(env)
        what = f"{_article(algo)} {algo} MlpPolicy"
        raise UnsafeAgentError(f"{path}: cannot rebuild {what} from this layout ({exc})") from None
    try:
        model.policy.load_state_dict(state, strict=True)
    except Exception as exc:  # noqa: BLE001 - RuntimeError for shapes; anything else is a malformed file too
        first = one_line(exc)[:300] or type(exc).__name__
        close_env(model.env)
        raise UnsafeAgentError(f"{path}: weights do not fit the rebuilt {algo} policy ({first})") from None
    if layout["family"] == "actor-critic":
        model.policy.ortho_init = ortho_init
        model.policy_kwargs["ortho_init"] = ortho_init
    model.policy.set_training_mode(False)
    return model


def _restore_counters(model: Any, algo: str, data: dict[str, Any]) -> None:
    """The exploration rate (DQN, QR-DQN) and the step count the zip records, where they are plain and in range."""
    if algo in ("DQN", "QRDQN"):
        rate = _plain(data, "exploration_rate")
        if isinstance(rate, (int, float)) and not isinstance(rate, bool) and 0.0 <= rate <= 1.0:
            model.exploration_rate = float(rate)
    timesteps = _plain(data, "num_timesteps")
    if isinstance(timesteps, int) and not isinstance(timesteps, bool) and 0 <= timesteps < 2**63:
        model.num_timesteps = timesteps


def load_zip(path: str | os.PathLike[str], env_id: str, algo: str | None = None) -> Any:
    """Rebuild the SB3 agent in zip ``path`` for environment ``env_id`` without unpickling anything.

    ``algo`` (one of ALGOS) is checked against the zip; when omitted it is inferred (see module doc).
    The returned model is a ``stable_baselines3`` ``BaseAlgorithm`` with the zip's weights, attached to a
    fresh ``env_id`` environment; ``model.safe_load_info`` records what was read and what was assumed.

    Raises AgentNotFoundError (no file), UserInputError (not a regular file, not an SB3 zip, wrong
    algorithm, spaces that do not fit, unknown env, non-finite weights), UnsafeAgentError (anything that
    cannot be rebuilt without running stored code, or is over a cap of :mod:`paradox_gym.limits`).
    """
    if algo is not None:
        algo = normalize_algo(algo)
    path = Path(path)
    env_id = validate_env_id(env_id)
    members = _read_members(path)
    data = _read_data(path, members["data"])
    _refuse_policy_class(data, path)  # before the weights: a CNN zip is named as such, not as oversized
    state = _read_state_dict(path, members["policy.pth"])
    layout = layout_of(state, path)
    check_layout_size(layout, path)
    algo = _resolve_algo(algo, layout, data, path)
    policy_kwargs, notes = _policy_kwargs(algo, data, path)
    use_sde = _layout_kwargs(algo, layout, data, path, policy_kwargs)
    env = _checked_env(env_id, algo, layout, path, policy_kwargs)
    model = _rebuild(algo, env, layout, state, path, policy_kwargs, _constructor_kwargs(algo, data, use_sde))
    _restore_counters(model, algo, data)
    version = members.get("_stable_baselines3_version", b"").decode("utf-8", "replace").strip()[:40]
    model.safe_load_info = {  # type: ignore[attr-defined]
        "path": str(path),
        "algo": algo,
        "net_arch": layout["net_arch"],
        "n_critics": layout.get("n_critics"),
        "n_quantiles": policy_kwargs.get("n_quantiles"),
        "use_sde": use_sde,
        "activation_fn": notes["activation_fn"],
        "notes": {k: v for k, v in notes.items() if k != "activation_fn"},
        "sb3_version_in_zip": version,
        "ignored_serialized_fields": sorted(
            k for k, v in data.items() if isinstance(v, dict) and ":serialized:" in v
        ),
    }
    return model

"""Which submodules of a Stable-Baselines3 policy are the *inference path* (what ``predict`` runs).

Only these parts are compressed and counted in footprints. Critics, value networks and target
networks are never used by ``predict`` and would only inflate size figures.

=====================  =================================================================
algorithm              inference path (attribute paths relative to ``model.policy``)
=====================  =================================================================
PPO, A2C, TRPO         ``pi_features_extractor``, ``mlp_extractor.policy_net``, ``action_net``
DQN                    ``q_net.features_extractor``, ``q_net.q_net``
QRDQN                  ``quantile_net.features_extractor``, ``quantile_net.quantile_net`` (outputs
                       n_actions x n_quantiles; ``predict`` takes the argmax of the quantile means)
SAC, TQC               ``actor.features_extractor``, ``actor.latent_pi``, ``actor.mu``,
                       ``actor.log_std``
TD3, DDPG              ``actor.features_extractor``, ``actor.mu``
=====================  =================================================================

TRPO (sb3-contrib) uses SB3's ``ActorCriticPolicy``; TQC's actor is SAC's (only its critics, never run by
``predict``, differ). gSDE policies of PPO / A2C / TRPO keep the same path (their ``log_std`` parameter stays
float); a gSDE SAC / TQC actor's ``log_std`` is a parameter, not a layer: it is left out of the path (a
deterministic action, ``tanh(mu)``, does not use it).

The features extractor of an MLP policy is a parameter-free ``Flatten``; it is part of the path
(for completeness of footprints) but is never altered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from paradox_gym.errors import UserInputError, UserTypeError

SUPPORTED_ALGOS: tuple[str, ...] = ("PPO", "A2C", "DQN", "SAC", "TD3", "DDPG", "TRPO", "TQC", "QRDQN")


@dataclass(frozen=True)
class Part:
    """One named submodule of the inference path."""

    name: str
    path: str  # dotted attribute path from the policy
    compressible: bool  # False for the (parameter-free) features extractor


PARTS: dict[str, tuple[Part, ...]] = {
    "PPO": (
        Part("features_extractor", "pi_features_extractor", False),
        Part("policy_net", "mlp_extractor.policy_net", True),
        Part("action_net", "action_net", True),
    ),
    "DQN": (
        Part("features_extractor", "q_net.features_extractor", False),
        Part("q_net", "q_net.q_net", True),
    ),
    "SAC": (
        Part("features_extractor", "actor.features_extractor", False),
        Part("latent_pi", "actor.latent_pi", True),
        Part("mu", "actor.mu", True),
        Part("log_std", "actor.log_std", True),
    ),
    "TD3": (
        Part("features_extractor", "actor.features_extractor", False),
        Part("mu", "actor.mu", True),
    ),
}
PARTS["QRDQN"] = (
    Part("features_extractor", "quantile_net.features_extractor", False),
    Part("quantile_net", "quantile_net.quantile_net", True),
)
PARTS["A2C"] = PARTS["PPO"]
PARTS["TRPO"] = PARTS["PPO"]
PARTS["DDPG"] = PARTS["TD3"]
PARTS["TQC"] = PARTS["SAC"]


def algo_classes() -> dict[str, type]:
    """Map algorithm name -> SB3 class (imported lazily: stable_baselines3 is slow to import)."""
    from sb3_contrib import QRDQN, TQC, TRPO
    from stable_baselines3 import A2C, DDPG, DQN, PPO, SAC, TD3

    return {"PPO": PPO, "A2C": A2C, "DQN": DQN, "SAC": SAC, "TD3": TD3, "DDPG": DDPG,
            "TRPO": TRPO, "TQC": TQC, "QRDQN": QRDQN}


def identify_algo(model: Any) -> str:
    """Return the algorithm name of an SB3 model, or raise a user error.

    Raises:
        UserTypeError: ``model`` is not a Stable-Baselines3 ``BaseAlgorithm``.
        UserInputError: the algorithm is not one of :data:`SUPPORTED_ALGOS`.
    """
    from stable_baselines3.common.base_class import BaseAlgorithm

    if not isinstance(model, BaseAlgorithm):
        raise UserTypeError(
            f"expected a Stable-Baselines3 model (BaseAlgorithm), got {type(model).__name__}; "
            f"supported algorithms: {', '.join(SUPPORTED_ALGOS)}"
        )
    for name, cls in algo_classes().items():
        if type(model) is cls:
            return name
    raise UserInputError(
        f"unsupported algorithm {type(model).__name__!r}; supported: {', '.join(SUPPORTED_ALGOS)}"
    )


def get_attr_path(root: nn.Module, path: str) -> Any:
    obj: Any = root
    for attr in path.split("."):
        obj = getattr(obj, attr)
    return obj


def set_attr_path(root: nn.Module, path: str, value: nn.Module) -> None:
    parent_path, _, attr = path.rpartition(".")
    parent = get_attr_path(root, parent_path) if parent_path else root
    setattr(parent, attr, value)


def _present(policy: nn.Module, part: Part) -> bool:
    """False for a part that is a parameter, not a layer, in this policy: a gSDE SAC/TQC actor's
    ``log_std`` (unused by a deterministic action, which is ``tanh(mu)``)."""
    return isinstance(get_attr_path(policy, part.path), nn.Module)


def parts_of(policy: nn.Module, algo: str) -> dict[str, nn.Module]:
    """Map part name -> submodule (the live objects of ``policy``, not copies)."""
    return {part.name: get_attr_path(policy, part.path) for part in PARTS[algo] if _present(policy, part)}


def inference_module(policy: nn.Module, algo: str) -> nn.ModuleDict:
    """The inference path as one ``ModuleDict`` sharing the modules of ``policy``."""
    return nn.ModuleDict(parts_of(policy, algo))


def uses_sde(policy: nn.Module) -> bool:
    """True for a gSDE policy (``use_sde`` on the policy, or on its actor for SAC / TQC)."""
    return bool(getattr(policy, "use_sde", False) or getattr(getattr(policy, "actor", None), "use_sde", False))


def compressible_parts(algo: str, policy: nn.Module | None = None) -> tuple[Part, ...]:
    """The compressible parts of ``algo``'s inference path (of ``policy``'s, when given: a gSDE SAC/TQC
    actor has no ``log_std`` layer)."""
    return tuple(part for part in PARTS[algo]
                 if part.compressible and (policy is None or _present(policy, part)))


def is_activation(module: nn.Module) -> bool:
    """True for the element-wise activation modules of ``torch.nn`` (ReLU, Tanh, ...)."""
    return type(module).__module__ == "torch.nn.modules.activation"


def linear_layers(module: nn.Module) -> list[nn.Module]:
    """The ``nn.Linear`` layers of a part, in forward order."""
    if isinstance(module, nn.Linear):
        return [module]
    return [m for m in module.children() if isinstance(m, nn.Linear)]


def check_policy(model: Any, algo: str) -> None:
    """Raise :class:`UserInputError` unless ``model`` has a plain MLP policy this package handles."""
    from gymnasium import spaces
    from stable_baselines3.common.torch_layers import FlattenExtractor

    policy = model.policy
    expected = algo_classes()[algo].policy_aliases["MlpPolicy"]
    if type(policy) is not expected:
        raise UserInputError(
            f"unsupported policy {type(policy).__name__!r} for {algo}; only the MLP policy "
            f"({expected.__name__}, 'MlpPolicy') is supported"
        )
    for label, space in (("observation", policy.observation_space), ("action", policy.action_space)):
        if not isinstance(space, (spaces.Box, spaces.Discrete)):
            raise UserInputError(
                f"unsupported {label} space {type(space).__name__}; supported: Box, Discrete"
            )
    for part in PARTS[algo]:
        if not _present(policy, part):
            continue
        module = get_attr_path(policy, part.path)
        if not part.compressible:
            if type(module) is not FlattenExtractor:
                raise UserInputError(
                    f"unsupported features extractor {type(module).__name__!r}; "
                    "only FlattenExtractor (MlpPolicy) is supported"
                )
            continue
        children = [module] if isinstance(module, nn.Linear) else None
        if children is None:
            if type(module) is not nn.Sequential:
                raise UserInputError(
                    f"unsupported architecture: {algo} part {part.name!r} is a "
                    f"{type(module).__name__}, expected nn.Linear or nn.Sequential"
                )
            children = list(module.children())
        for child in children:
            if not (type(child) is nn.Linear or is_activation(child)):
                raise UserInputError(
                    f"unsupported architecture: {algo} part {part.name!r} contains "
                    f"{type(child).__name__}; only nn.Linear and torch.nn activations are supported"
                )


def policy_device(policy: nn.Module) -> torch.device:
    for parameter in policy.parameters():
        return parameter.device
    return torch.device("cpu")

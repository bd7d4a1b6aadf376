"""The deterministic inference path of an SB3 policy as one plain ``nn.Module``: an *inference core*.

A core maps a preprocessed observation batch (float32, shape ``(batch, *obs_shape)``) to the raw output
``predict`` turns into actions, using exactly the modules of the inference path (see
:mod:`paradox_gym.compression.inference_path`), float, quantized or pruned:

=========  ==========================================================  =========================
algorithm  core output                                                 SB3 post-processing
=========  ==========================================================  =========================
PPO, A2C,  ``action_net(policy_net(flatten(obs)))``: logits or means   Discrete: argmax; Box: clip
TRPO
DQN        ``q_net(flatten(obs))``: Q-values                           argmax
QRDQN      quantile means of ``quantile_net(flatten(obs))``            argmax
SAC, TQC   ``tanh(mu(latent_pi(flatten(obs))))``: squashed mean         unscale to [low, high]
TD3, DDPG  ``mu(flatten(obs))`` (ends in Tanh): squashed action        unscale to [low, high]
=========  ==========================================================  =========================

The post-processing column is :func:`postprocess`, which reproduces ``BasePolicy.predict`` (reshape,
clip / unscale, batch dimension removed for a single observation). :meth:`Core.outputs` returns every
output of the compressible parts (SAC: ``mu`` and ``log_std``), which is what quantization-aware
distillation matches (:mod:`paradox_gym.compression.qat`).

Cores are what the ``torch`` runtime calls and what the ``onnxruntime`` runtime exports
(:mod:`paradox_gym.compression.runtimes`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from paradox_gym.compression.inference_path import parts_of
from paradox_gym.errors import UserInputError


class Core(nn.Module):
    """The deterministic inference path of one algorithm (subclasses name the parts they use)."""

    #: squashed output in [-1, 1] that ``predict`` rescales to the action bounds (SAC, TD3, DDPG)
    squashed: bool = False

    def __init__(self, parts: Mapping[str, nn.Module]) -> None:
        super().__init__()
        self.parts = nn.ModuleDict(dict(parts))

    def outputs(self, x: torch.Tensor) -> list[torch.Tensor]:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.outputs(x)[0]


class ActorCriticCore(Core):
    """PPO, A2C: ``action_net(policy_net(features_extractor(x)))``."""

    def outputs(self, x: torch.Tensor) -> list[torch.Tensor]:
        p = self.parts
        return [p["action_net"](p["policy_net"](p["features_extractor"](x)))]


class QCore(Core):
    """DQN: ``q_net(features_extractor(x))``."""

    def outputs(self, x: torch.Tensor) -> list[torch.Tensor]:
        p = self.parts
        return [p["q_net"](p["features_extractor"](x))]


class QuantileCore(Core):
    """QRDQN: the mean over quantiles of ``quantile_net(features_extractor(x))`` viewed as
    ``(batch, n_quantiles, n_actions)``; ``outputs`` gives the raw quantiles."""

    def __init__(self, parts: Mapping[str, nn.Module], n_quantiles: int) -> None:
        super().__init__(parts)
        self.n_quantiles = int(n_quantiles)

    def outputs(self, x: torch.Tensor) -> list[torch.Tensor]:
        p = self.parts
        return [p["quantile_net"](p["features_extractor"](x))]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        quantiles = self.outputs(x)[0]
        return quantiles.view(quantiles.shape[0], self.n_quantiles, -1).mean(dim=1)


class SquashedGaussianCore(Core):
    """SAC: ``tanh(mu(latent))`` with ``latent = latent_pi(features_extractor(x))``; ``outputs`` gives the
    pre-squash ``mu`` and ``log_std`` (both parts of the inference path)."""

    squashed = True

    def outputs(self, x: torch.Tensor) -> list[torch.Tensor]:
        p = self.parts
        latent = p["latent_pi"](p["features_extractor"](x))
        # a gSDE actor's log_std is a parameter, not a layer of the path: only mu is an output then
        return [p["mu"](latent), *([p["log_std"](latent)] if "log_std" in p else [])]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = self.parts
        return torch.tanh(p["mu"](p["latent_pi"](p["features_extractor"](x))))


class DeterministicActorCore(Core):
    """TD3, DDPG: ``mu(features_extractor(x))`` (the last layer of ``mu`` is a Tanh)."""

    squashed = True

    def outputs(self, x: torch.Tensor) -> list[torch.Tensor]:
        p = self.parts
        return [p["mu"](p["features_extractor"](x))]


#: algorithm -> ``factory(policy, parts) -> Core``.
CORES: dict[str, Callable[[Any, Mapping[str, nn.Module]], Core]] = {
    "PPO": lambda policy, parts: ActorCriticCore(parts),
    "A2C": lambda policy, parts: ActorCriticCore(parts),
    "TRPO": lambda policy, parts: ActorCriticCore(parts),
    "DQN": lambda policy, parts: QCore(parts),
    "QRDQN": lambda policy, parts: QuantileCore(parts, policy.quantile_net.n_quantiles),
    "SAC": lambda policy, parts: SquashedGaussianCore(parts),
    "TQC": lambda policy, parts: SquashedGaussianCore(parts),
    "TD3": lambda policy, parts: DeterministicActorCore(parts),
    "DDPG": lambda policy, parts: DeterministicActorCore(parts),
}


def make_core(policy: nn.Module, algo: str, parts: Mapping[str, nn.Module] | None = None) -> Core:
    """The core of ``policy``'s inference path (sharing its modules), or of ``parts`` when given (part name
    -> module, e.g. quantization-aware copies)."""
    if algo not in CORES:
        raise UserInputError(f"no inference core for algorithm {algo!r}; supported: {', '.join(CORES)}")
    core = CORES[algo](policy, parts if parts is not None else parts_of(policy, algo))
    core.eval()
    return core


def check_observation_space(space: Any) -> None:
    """Raise :class:`UserInputError` unless :func:`preprocess` handles ``space`` exactly as SB3 does."""
    from gymnasium import spaces
    from stable_baselines3.common.preprocessing import is_image_space

    if isinstance(space, spaces.Discrete):
        return
    if isinstance(space, spaces.Box) and not is_image_space(space, check_channels=False):
        return
    raise UserInputError(
        f"observation space {space} is not supported outside SB3's predict; supported: Discrete, non-image Box"
    )


def preprocess(observation: Any, space: Any) -> tuple[np.ndarray, bool]:
    """``(float32 batch, vectorized)`` exactly as SB3's ``obs_to_tensor`` + ``preprocess_obs`` make it for a
    Box (cast to float32) or Discrete (one-hot) observation space; ``vectorized`` is False for a single
    observation (its batch dimension is removed again by :func:`postprocess`)."""
    from gymnasium import spaces
    from stable_baselines3.common.utils import is_vectorized_observation

    obs = np.array(observation)
    vectorized = is_vectorized_observation(obs, space)
    if isinstance(space, spaces.Discrete):
        index = obs.reshape(-1).astype(np.int64)
        batch = np.zeros((index.shape[0], int(space.n)), dtype=np.float32)
        batch[np.arange(index.shape[0]), index] = 1.0
        return batch, vectorized
    return obs.reshape((-1, *space.shape)).astype(np.float32, copy=False), vectorized


def postprocess(raw: np.ndarray, action_space: Any, *, squashed: bool, vectorized: bool) -> np.ndarray:
    """Actions from a core's raw output, as ``BasePolicy.predict`` returns them: Discrete -> argmax
    (int64); Box -> unscaled from [-1, 1] to [low, high] (squashed outputs) or clipped to the bounds."""
    from gymnasium import spaces

    if isinstance(action_space, spaces.Discrete):
        actions = raw.argmax(axis=1).reshape((-1, *action_space.shape))
    else:
        actions = raw.reshape((-1, *action_space.shape))
        low, high = action_space.low, action_space.high
        if squashed:
            actions = low + (0.5 * (actions + 1.0) * (high - low))
        else:
            actions = np.clip(actions, low, high)
    if not vectorized:
        actions = actions.squeeze(axis=0)
    return actions

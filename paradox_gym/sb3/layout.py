"""The layout of an SB3 policy, read from its state dict's tensor names and shapes only (no code runs):
its family, hidden sizes, observation and action sizes, critics, gSDE."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from paradox_gym.errors import UnsafeAgentError, UserInputError
from paradox_gym.limits import MAX_ACTIONS, MAX_CRITICS, MAX_SPACE_ENTRIES
from paradox_gym.sb3.algorithms import ALGOS
from paradox_gym.sb3.untrusted import check_layer_sizes, check_policy_parameters, policy_parameters


#: Layout families (what the state dict can tell apart) -> algorithms sharing that layout.


def _linear_chain(state: dict[str, Any], prefix: str, path: Path) -> list[tuple[int, int]]:
    """(in, out) sizes of the Linear layers ``<prefix><i>.weight`` of an SB3 MLP Sequential, in order."""
    pattern = re.compile(re.escape(prefix) + r"(\d+)\.(weight|bias)$")
    indices: dict[int, dict[str, Any]] = {}
    for key, tensor in state.items():
        match = pattern.match(key)
        if match:
            indices.setdefault(int(match.group(1)), {})[match.group(2)] = tensor
    layers: list[tuple[int, int]] = []
    for index in sorted(indices):
        parts = indices[index]
        weight, bias = parts.get("weight"), parts.get("bias")
        if weight is None or bias is None or weight.dim() != 2 or bias.shape != (weight.shape[0],):
            raise UnsafeAgentError(f"{path}: layer {prefix}{index} is not a Linear layer; unknown network layout")
        if layers and layers[-1][1] != weight.shape[1]:
            raise UnsafeAgentError(f"{path}: layer sizes of {prefix}* do not chain; unknown network layout")
        layers.append((int(weight.shape[1]), int(weight.shape[0])))
    return layers


def _single_linear(state: dict[str, Any], name: str, path: Path) -> tuple[int, int] | None:
    weight, bias = state.get(f"{name}.weight"), state.get(f"{name}.bias")
    if weight is None and bias is None:
        return None
    if weight is None or bias is None or weight.dim() != 2 or bias.shape != (weight.shape[0],):
        raise UnsafeAgentError(f"{path}: {name} is not a Linear layer; unknown network layout")
    return int(weight.shape[1]), int(weight.shape[0])


def _check_prefixes(state: dict[str, Any], allowed: tuple[str, ...], path: Path) -> None:
    for key in state:
        if not key.startswith(allowed):
            is_extractor = "features_extractor" in key or "cnn" in key
            what = "a CNN or custom features extractor" if is_extractor else "a custom network"
            raise UnsafeAgentError(
                f"{path}: state-dict entry {key!r} belongs to {what}, which cannot be rebuilt without "
                f"unpickling code; only MLP policies of {', '.join(ALGOS)} can be loaded safely"
            )


def _actor_critic_layout(state: dict[str, Any], path: Path) -> dict[str, Any]:
    """PPO / A2C / TRPO: mlp_extractor policy and value networks, action_net, value_net, log_std (gSDE too)."""
    allowed = ("mlp_extractor.policy_net.", "mlp_extractor.value_net.", "action_net.", "value_net.", "log_std")
    _check_prefixes(state, allowed, path)
    pi = _linear_chain(state, "mlp_extractor.policy_net.", path)
    vf = _linear_chain(state, "mlp_extractor.value_net.", path)
    action = _single_linear(state, "action_net", path)
    value = _single_linear(state, "value_net", path)
    if action is None or value is None or value[1] != 1:
        raise UnsafeAgentError(f"{path}: actor-critic policy without action_net/value_net; unknown layout")
    obs_dims = {layers[0][0] for layers in (pi, vf) if layers}
    if not pi:
        obs_dims.add(action[0])
    if not vf:
        obs_dims.add(value[0])
    if len(obs_dims) != 1:
        raise UnsafeAgentError(f"{path}: policy and value networks disagree on the input size; unknown layout")
    log_std = state.get("log_std")
    sde = log_std is not None and log_std.dim() == 2
    if log_std is not None and not sde and (log_std.dim() != 1 or log_std.shape[0] != action[1]):
        raise UnsafeAgentError(f"{path}: log_std of shape {tuple(log_std.shape)} cannot be rebuilt safely")
    layout: dict[str, Any] = {
        "family": "actor-critic",
        "net_arch": {"pi": [o for _, o in pi], "vf": [o for _, o in vf]},
        "obs_dim": obs_dims.pop(),
        "act_dim": action[1],
        "continuous": log_std is not None,
        "use_sde": sde,
    }
    if sde:  # gSDE: log_std is (latent size, action size), or (latent size, 1) with full_std=False
        assert log_std is not None
        if log_std.shape[0] != action[0] or log_std.shape[1] not in (action[1], 1):
            raise UnsafeAgentError(f"{path}: gSDE log_std of shape {tuple(log_std.shape)} does not fit the policy")
        layout["full_std"] = bool(log_std.shape[1] == action[1])
    return layout


def _dqn_layout(state: dict[str, Any], path: Path) -> dict[str, Any]:
    """DQN: q_net (and its target)."""
    _check_prefixes(state, ("q_net.q_net.", "q_net_target.q_net."), path)
    q = _linear_chain(state, "q_net.q_net.", path)
    if not q:
        raise UnsafeAgentError(f"{path}: DQN q_net has no Linear layers; unknown layout")
    return {
        "family": "dqn",
        "net_arch": [o for _, o in q[:-1]],
        "obs_dim": q[0][0],
        "act_dim": q[-1][1],
        "continuous": False,
    }


def _qrdqn_layout(state: dict[str, Any], path: Path) -> dict[str, Any]:
    """QR-DQN: quantile_net (and its target); the output is split once the action space is known."""
    _check_prefixes(state, ("quantile_net.quantile_net.", "quantile_net_target.quantile_net."), path)
    q = _linear_chain(state, "quantile_net.quantile_net.", path)
    if not q:
        raise UnsafeAgentError(f"{path}: QR-DQN quantile_net has no Linear layers; unknown layout")
    return {  # the output is n_actions x n_quantiles: split once the action space is known
        "family": "qrdqn",
        "net_arch": [o for _, o in q[:-1]],
        "obs_dim": q[0][0],
        "out_dim": q[-1][1],
        "act_dim": None,
        "continuous": False,
    }


def _critics(keys: set[str]) -> list[int]:
    return sorted({int(m.group(1)) for k in keys if (m := re.match(r"critic\.qf(\d+)\.", k))})


def _sac_layout(state: dict[str, Any], path: Path) -> dict[str, Any]:
    """SAC / TQC: actor latent_pi, mu, log_std (or gSDE's log_std parameter), critics."""
    keys = set(state)
    critics = _critics(keys)
    allowed = ("actor.latent_pi.", "actor.mu.", "actor.log_std", "critic.qf", "critic_target.qf")
    _check_prefixes(state, allowed, path)
    latent = _linear_chain(state, "actor.latent_pi.", path)
    sde_param = state.get("actor.log_std")
    sde = sde_param is not None
    # gSDE: mu is Sequential(Linear, Hardtanh) (clip_mean > 0) or a Linear; log_std is a parameter
    mu = _single_linear(state, "actor.mu.0", path) if sde and "actor.mu.0.weight" in keys else \
        _single_linear(state, "actor.mu", path)
    if mu is None:
        raise UnsafeAgentError(f"{path}: SAC/TQC actor without a mu layer; unknown layout")
    if sde:
        assert sde_param is not None
        if sde_param.dim() != 2 or tuple(sde_param.shape) != (mu[0], mu[1]) or "actor.log_std.weight" in keys:
            raise UnsafeAgentError(f"{path}: gSDE log_std of shape {tuple(sde_param.shape)} does not fit the actor")
    else:
        log_std = _single_linear(state, "actor.log_std", path)
        if log_std is None or mu != log_std:
            raise UnsafeAgentError(f"{path}: SAC/TQC actor without matching mu/log_std layers; unknown layout")
    obs_dim = latent[0][0] if latent else mu[0]
    qf, q_out = _critic_layout(state, critics, obs_dim, mu[1], path, quantiles=True)
    return {
        "family": "sac",
        "net_arch": {"pi": [o for _, o in latent], "qf": qf},
        "obs_dim": obs_dim,
        "act_dim": mu[1],
        "continuous": True,
        "n_critics": len(critics),
        "critic_out": q_out,
        "use_sde": sde,
        "mu_clipped": sde and "actor.mu.0.weight" in keys,
    }


def _td3_layout(state: dict[str, Any], path: Path) -> dict[str, Any]:
    """TD3 / DDPG: actor mu chain, critics."""
    critics = _critics(set(state))
    _check_prefixes(state, ("actor.mu.", "actor_target.mu.", "critic.qf", "critic_target.qf"), path)
    mu_layers = _linear_chain(state, "actor.mu.", path)
    if not mu_layers:
        raise UnsafeAgentError(f"{path}: TD3/DDPG actor has no Linear layers; unknown layout")
    obs_dim, act_dim = mu_layers[0][0], mu_layers[-1][1]
    qf, _ = _critic_layout(state, critics, obs_dim, act_dim, path)
    return {
        "family": "td3",
        "net_arch": {"pi": [o for _, o in mu_layers[:-1]], "qf": qf},
        "obs_dim": obs_dim,
        "act_dim": act_dim,
        "continuous": True,
        "n_critics": len(critics),
    }


#: (state-dict key prefix that identifies a family, its layout reader), tried in order.
_FAMILY_READERS: tuple[tuple[tuple[str, ...], Any], ...] = (
    (("mlp_extractor.", "action_net."), _actor_critic_layout),
    (("q_net.",), _dqn_layout),
    (("quantile_net.",), _qrdqn_layout),
    (("actor.latent_pi.", "actor.mu.weight"), _sac_layout),
    (("actor.mu.",), _td3_layout),
)


def layout_of(state: dict[str, Any], path: Path) -> dict[str, Any]:
    """Family, hidden sizes, observation and action sizes read from the state dict's tensor shapes."""
    for prefixes, reader in _FAMILY_READERS:
        if any(k.startswith(prefixes) for k in state):
            return reader(state, path)
    raise UnsafeAgentError(
        f"{path}: unknown policy layout (no mlp_extractor / q_net / actor entries); only MLP policies of "
        f"{', '.join(ALGOS)} can be loaded safely"
    )


def check_layout_size(layout: dict[str, Any], path: Path) -> None:
    """Caps (paradox_gym.limits) on the network the layout describes, checked before anything is built:
    hidden widths and depth, observation and action sizes, critics, and the policy's parameter count."""
    where = str(path)
    family = layout["family"]
    arch = layout["net_arch"]
    if isinstance(arch, dict):
        pi = check_layer_sizes(arch.get("pi", []), "net_arch['pi']", where)
        other_key = "vf" if family == "actor-critic" else "qf"
        other = check_layer_sizes(arch.get(other_key, []), f"net_arch[{other_key!r}]", where)
    else:
        pi = other = check_layer_sizes(arch, "net_arch", where)
    obs_dim = int(layout["obs_dim"])
    if obs_dim > MAX_SPACE_ENTRIES:
        raise UnsafeAgentError(f"{where}: input size {obs_dim} is over the {MAX_SPACE_ENTRIES}-entry limit")
    out = int(layout["out_dim"] if family == "qrdqn" else layout["act_dim"])
    cap = MAX_SPACE_ENTRIES if layout["continuous"] or family == "qrdqn" else MAX_ACTIONS
    if out > cap:
        raise UnsafeAgentError(f"{where}: output size {out} is over the {cap} limit")
    n_critics = int(layout.get("n_critics", 1))
    if n_critics > MAX_CRITICS:
        raise UnsafeAgentError(f"{where}: {n_critics} critics, over the {MAX_CRITICS}-critic limit")
    count = policy_parameters("dqn" if family == "qrdqn" else family, obs_dim, out, pi, other, n_critics,
                              int(layout.get("critic_out", 1)))
    check_policy_parameters(count, where, f"the {family} policy in policy.pth")


def _critic_layout(state: dict[str, Any], critics: list[int], obs_dim: int, act_dim: int, path: Path,
                   quantiles: bool = False) -> tuple[list[int], int]:
    """Hidden sizes of the critics and their output size (1; TQC's critics output ``n_quantiles``)."""
    if not critics or critics != list(range(len(critics))):
        raise UnsafeAgentError(f"{path}: critics are not numbered qf0..qfN; unknown layout")
    layouts = [_linear_chain(state, f"critic.qf{i}.", path) for i in critics]
    if any(layers != layouts[0] for layers in layouts) or not layouts[0]:
        raise UnsafeAgentError(f"{path}: critics differ in shape; unknown layout")
    first = layouts[0]
    if first[0][0] != obs_dim + act_dim or (first[-1][1] != 1 and not quantiles):
        raise UnsafeAgentError(f"{path}: critic input/output sizes do not fit the actor; unknown layout")
    return [o for _, o in first[:-1]], first[-1][1]


def split_quantiles(layout: dict[str, Any], act_space: Any, path: Path) -> None:
    """QR-DQN: the quantile net outputs ``n_actions x n_quantiles``; set both from the action space."""
    from gymnasium import spaces

    if not isinstance(act_space, spaces.Discrete):
        raise UserInputError(f"{path}: a QR-DQN agent needs a Discrete action space, not {act_space}")
    n_actions = int(act_space.n)
    if layout["out_dim"] % n_actions:
        raise UserInputError(
            f"{path}: quantile net outputs {layout['out_dim']} values, not a multiple of the env's {n_actions} actions"
        )
    layout["act_dim"] = n_actions
    layout["n_quantiles"] = layout["out_dim"] // n_actions


# --------------------------------------------------------------------------------------------------
# algorithm, activation, policy kwargs from plain JSON

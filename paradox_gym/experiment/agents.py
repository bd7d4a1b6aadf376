"""The configurations of an evaluation: the float agent and its compressed variants.

Step "settings -> zoo / sb3 loading -> compression" of the data flow, shared by
:func:`paradox_gym.evaluate`, the fresh-process memory probe and the benchmarks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from paradox_gym import zoo
from paradox_gym.compression import compress
from paradox_gym.compression.qat import DEFAULT_QAT_STEPS
from paradox_gym.compression.runtimes import build_runtime_agent, split_config
from paradox_gym.envs import close_env, make_env
from paradox_gym.errors import MethodNotApplicable, UserInputError
from paradox_gym.sb3 import load_zip
from paradox_gym.sb3.vecnormalize import NormalizeObservation, ObservationNormalizer, load_vecnormalize


def load_model(env_id: str, algo: str | None, agent_path: str | None = None, *,
               train_if_missing: bool = False, agents_dir: str | None = None,
               vecnormalize_path: str | None = None, no_vecnormalize: bool = False) -> Any:
    """The float SB3 model: the zoo agent for (env, algo), or the user's zip (``load_zip``, no unpickling;
    ``algo=None`` reads the algorithm from the zip). ``train_if_missing`` trains a missing zoo agent
    (zoo hyperparameters, written to the user's agents directory with its manifest entry).

    The model's observation normalisation (:func:`resolve_normalizer`) is attached as
    ``model.obs_normalizer`` (None without one): :func:`build_agents` calibrates on normalised
    observations with it."""
    if agent_path is not None:
        model = load_zip(agent_path, env_id, algo)  # checks the env's spaces too
    else:
        model = zoo.load_agent(env_id, algo, train_if_missing=train_if_missing, agents_path=agents_dir)
    model.obs_normalizer = resolve_normalizer(  # type: ignore[attr-defined]
        env_id, type(model).__name__, agent_path, vecnormalize_path=vecnormalize_path,
        no_vecnormalize=no_vecnormalize, agents_dir=agents_dir, observation_space=model.observation_space)
    return model


def resolve_normalizer(env_id: str, algo: str | None, agent_path: str | None, *,
                       vecnormalize_path: str | None = None, no_vecnormalize: bool = False,
                       agents_dir: str | None = None, observation_space: Any = None) -> ObservationNormalizer | None:
    """The observation normalisation an evaluation applies to every configuration alike: none with
    ``no_vecnormalize``; else the statistics at ``vecnormalize_path`` (EvalSettings resolves it for a user's
    zip: given, beside the zip or in its rl-zoo3 run folder); else, for a zoo agent, the statistics its
    manifest entry lists (sha256-verified). Read without unpickling (:func:`load_vecnormalize`)."""
    if no_vecnormalize:
        return None
    if vecnormalize_path is not None:
        return load_vecnormalize(vecnormalize_path, observation_space)
    if agent_path is None:
        path = zoo.find_vecnormalize(env_id, algo, agents_dir)
        return load_vecnormalize(path, observation_space) if path is not None else None
    return None


def make_agent_env(env_id: str, env_kwargs: dict[str, Any] | None = None,
                   normalizer: ObservationNormalizer | None = None) -> Any:
    """``make_env(env_id, **env_kwargs)``, wrapped in :class:`NormalizeObservation` when the agent has
    observation statistics: the environment every rollout of an evaluation plays (see docs/zoo.md)."""
    env = make_env(env_id, **(env_kwargs or {}))
    return NormalizeObservation(env, normalizer) if normalizer is not None else env


def check_eval_spaces(model: Any, settings: Any) -> None:
    """UserInputError unless the evaluation's environment (``settings.env_kwargs`` applied, as an rl-zoo3
    run folder's ``args.yml`` gives them) has the observation and action spaces ``model`` was built for:
    refused here, before any measurement, rather than by the first step of the first trial."""
    if not settings.env_kwargs:
        return  # the loader already compared the spaces with make_env(env_id)
    env = make_env(settings.env_id, **settings.env_kwargs)
    try:
        spaces = (env.observation_space, env.action_space)
    finally:
        close_env(env)
    if spaces != (model.observation_space, model.action_space):
        raise UserInputError(
            f"the agent is for observation space {model.observation_space} and action space {model.action_space}, "
            f"but {settings.env_id} with env_kwargs {settings.env_kwargs} has {spaces[0]} and {spaces[1]}"
        )


def make_eval_env(settings: Any) -> Any:
    """The environment of an evaluation (an ``EvalSettings``): its ``env_kwargs`` and normalisation (whose
    statistics must have the environment's observation shape)."""
    env = make_env(settings.env_id, **(settings.env_kwargs or {}))
    try:
        normalizer = resolve_normalizer(
            settings.env_id, settings.algo, settings.agent_path, vecnormalize_path=settings.vecnormalize_path,
            no_vecnormalize=settings.no_vecnormalize, agents_dir=settings.agents_dir,
            observation_space=env.observation_space)
    except BaseException:
        close_env(env)
        raise
    return NormalizeObservation(env, normalizer) if normalizer is not None else env


def build_agents(model: Any, configs: Sequence[str], *, amount: float, env_id: str, seed: int,
                 qat_steps: int = DEFAULT_QAT_STEPS, threads: int = 1,
                 skipped: dict[str, str] | None = None) -> dict[str, Any]:
    """One agent per configuration: ``model`` compressed once per method (``"none"`` gives the float baseline
    as a CompressedAgent), then run by each configuration's runtime (``ptdq`` on ``sb3``, ``onnxruntime:ptdq``
    on ONNX Runtime with ``threads`` intra-op threads; see :mod:`paradox_gym.compression.runtimes`).

    With ``skipped`` (a dict to fill), a method that cannot apply to this agent (MethodNotApplicable) is
    recorded there with its reason and its configurations left out; without it, it raises."""
    split = {c: split_config(c) for c in configs}
    compressed: dict[str, Any] = {}
    normalizer = getattr(model, "obs_normalizer", None)
    # calibration / fine-tuning rollouts see what the agent sees: normalised observations where it has them
    env: Any = make_agent_env(env_id, None, normalizer) if normalizer is not None else env_id
    try:
        for _, method in split.values():
            if method in compressed or (skipped is not None and method in skipped):
                continue
            try:
                compressed[method] = compress(model, method, amount=amount, env=env, seed=seed,
                                              qat_steps=qat_steps)
            except MethodNotApplicable as exc:
                if skipped is None:
                    raise
                skipped[method] = str(exc)
    finally:
        if not isinstance(env, str):
            close_env(env)
    return {c: build_runtime_agent(compressed[m], r, threads=threads) for c, (r, m) in split.items()
            if m in compressed}


def recipe_record(agent: Any) -> dict[str, Any]:
    """What the result records of how a configuration was built: its recipe, plus ``finetune`` (the one-off
    cost on this machine: ``qat`` fine-tuning steps and seconds) where there was one."""
    finetune = getattr(agent, "finetune", None)
    return {**agent.recipe, "finetune": finetune} if finetune is not None else dict(agent.recipe)

"""Shipping a trained agent: from an agents directory into the package's zoo, checked on the way.

:func:`ship_agent` takes one agent that ``paradox-gym train`` wrote (its zip, its VecNormalize statistics
when it has them, and its manifest entry), checks the files against the entry's sha256 and the entry's
evaluation against the zoo's threshold for its algorithm and environment
(:func:`paradox_gym.references.zoo_threshold`), and copies all three into the shipped zoo, replacing the
agent it held for that algorithm and environment. An agent below its threshold is refused unless the
caller says it ships anyway (the best one found, stated as such in docs/zoo.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from paradox_gym._util.files import write_bytes_atomic
from paradox_gym.errors import UserInputError
from paradox_gym.references import reference_return, zoo_threshold
from paradox_gym.sb3 import normalize_algo
from paradox_gym.zoo.manifest import file_sha256, read_manifest, update_manifest
from paradox_gym.zoo.paths import SHIPPED_DIR, VECNORMALIZE_SUFFIX, checkpoint_name


#: The words of a return against its agent's threshold: docs/zoo.md's table and ``ship_agent.py --replay``.
MEETS, BELOW, NO_THRESHOLD = "meets it", "below its threshold", "n/a"


def threshold_status(mean_return: float, threshold: float | None) -> str:
    """``MEETS``, ``BELOW`` or ``NO_THRESHOLD`` (the zoo sets none for this algorithm and environment): the
    one rule of a return against its threshold (met when at least equal)."""
    return NO_THRESHOLD if threshold is None else MEETS if mean_return >= threshold else BELOW


@dataclass(frozen=True)
class ShippedAgent:
    """What :func:`ship_agent` copied: the zip's name, its evaluation and its threshold."""

    name: str
    mean_return: float
    episodes: int
    threshold: float | None
    threshold_source: str
    files: tuple[str, ...]

    @property
    def status(self) -> str:
        """:func:`threshold_status` of its return."""
        return threshold_status(self.mean_return, self.threshold)

    @property
    def ratio(self) -> float | None:
        """Mean return / threshold (None without a threshold)."""
        return None if self.threshold is None else self.mean_return / self.threshold

    def summary(self) -> str:
        """One line: the agent, its return and its threshold."""
        if self.threshold is None:
            against = "no threshold for this algorithm and environment"
        else:
            verb = "is BELOW" if self.status == BELOW else "meets"
            against = f"{verb} its threshold {self.threshold:.0f} ({self.threshold_source})"
        return f"{self.name}: return {self.mean_return:.1f} over {self.episodes} episodes {against}"


def _checked_entry(source: Path, name: str) -> dict[str, Any]:
    """The manifest entry of ``name`` in ``source``, its files present and matching their sha256."""
    entry = read_manifest(source)["agents"].get(name)
    if not isinstance(entry, dict):
        raise UserInputError(f"{source} holds no manifest entry for {name}; train it there first")
    files = [(name, entry.get("sha256"))]
    stats = entry.get("vecnormalize")
    if isinstance(stats, dict):
        files.append((str(stats.get("file")), stats.get("sha256")))
    for file, expected in files:
        path = source / file
        if path.parent != source or not path.is_file():
            raise UserInputError(f"{source / 'manifest.json'} lists {file!r} for {name}, but it is not in {source}")
        if file_sha256(path) != expected:
            raise UserInputError(f"{path} does not match the sha256 of its manifest entry; retrain it")
    return entry


def check_agent(source: str | Path, algo: str, env_id: str, *, below_threshold: bool = False) -> ShippedAgent:
    """What :func:`ship_agent` would copy, checked: UserInputError for a missing or altered file, an entry
    without a 10-episode evaluation, or a return below the threshold (unless ``below_threshold``)."""
    return _checked(Path(source), algo, env_id, below_threshold)[0]


def _checked(source: Path, algo: str, env_id: str, below_threshold: bool) -> tuple[ShippedAgent, dict[str, Any]]:
    """:func:`check_agent`'s answer with the manifest entry it checked (the one that is copied)."""
    algo = normalize_algo(algo)
    name = checkpoint_name(algo, env_id)
    entry = _checked_entry(source, name)
    evaluation = entry.get("eval")
    mean = evaluation.get("mean_return") if isinstance(evaluation, dict) else None
    episodes = evaluation.get("episodes") if isinstance(evaluation, dict) else None
    if not isinstance(mean, (int, float)) or not isinstance(episodes, int) or episodes < 10:
        raise UserInputError(f"the manifest entry of {name} in {source} has no evaluation over at least 10 "
                             f"episodes; evaluate it with paradox-gym train (--eval-episodes 10)")
    found = zoo_threshold(algo, env_id)
    threshold, threshold_source = (None, "") if found is None else found
    shipped = ShippedAgent(name, float(mean), episodes, threshold, threshold_source,
                           tuple(f for f in (name, (entry.get("vecnormalize") or {}).get("file")) if f))
    if shipped.status == BELOW and not below_threshold:
        raise UserInputError(f"{shipped.summary()}; ship it anyway only as the best one found "
                             f"(--below-threshold), saying so in docs/zoo.md")
    return shipped, entry


def ship_agent(source: str | Path, algo: str, env_id: str, *, below_threshold: bool = False,
               dest: str | Path = SHIPPED_DIR) -> ShippedAgent:
    """Copy the ``algo`` agent for ``env_id`` from the agents directory ``source`` into ``dest`` (the
    shipped zoo), with its statistics and manifest entry, after :func:`check_agent`."""
    source, dest = Path(source), Path(dest)
    shipped, entry = _checked(source, algo, env_id, below_threshold)
    name = shipped.name
    dest.mkdir(parents=True, exist_ok=True)
    for file in shipped.files:
        write_bytes_atomic(dest / file, (source / file).read_bytes())
    old_stats = dest / f"{name.removesuffix('.zip')}{VECNORMALIZE_SUFFIX}"
    if old_stats.name not in shipped.files and old_stats.exists():  # the new agent runs without statistics
        old_stats.unlink()
    update_manifest(dest, name, entry)
    return shipped


#: The environments of the MuJoCo table of docs/zoo.md, in its order.
MUJOCO_ENVS = ("Hopper-v5", "HalfCheetah-v5")
_ALGO_ORDER = ("PPO", "TRPO", "SAC", "TD3", "DDPG")


def mujoco_table(manifest: dict[str, Any] | None = None) -> str:
    """The MuJoCo table of docs/zoo.md from the shipped manifest: each agent's return against rl-zoo3's
    benchmark and the zoo's threshold (``python scripts/ship_agent.py --table`` rewrites it)."""
    agents = (manifest if manifest is not None else read_manifest(SHIPPED_DIR))["agents"]
    rows = ["| file | algorithm | environment | steps | train wall (s) | VecNormalize | return (mean ± std) | "
            "rl-zoo3 benchmark | ratio | threshold | status | size (bytes) |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    entries = [e for e in agents.values() if isinstance(e, dict) and e.get("env_id") in MUJOCO_ENVS]
    entries.sort(key=lambda e: (MUJOCO_ENVS.index(e["env_id"]), _ALGO_ORDER.index(e["algo"])
                                if e["algo"] in _ALGO_ORDER else len(_ALGO_ORDER), e["algo"]))
    for e in entries:
        ev = e["eval"]
        ref = reference_return(e["algo"], e["env_id"])
        found = zoo_threshold(e["algo"], e["env_id"])
        mean = ev["mean_return"]
        ratio = f"{mean / ref[0]:.2f}x" if ref else "n/a"
        status = threshold_status(mean, None if found is None else found[0])
        status = f"**{status}**" if status == BELOW else status
        rows.append(
            f"| `{e['file']}` | {e['algo']} | `{e['env_id']}` | {e['steps']:,} | {e['train_wall_s']:.0f} | "
            f"{'yes' if e.get('vecnormalize') else 'no'} | {mean:.1f} ± {ev['std_return']:.1f} ({ev['episodes']} "
            f"episodes) | {f'{ref[0]:.0f}' if ref else 'none'} | {ratio} | "
            f"{'n/a' if found is None else f'{found[0]:.0f}'} | {status} | {e['size_bytes']:,} |")
    return "\n".join(rows)


__all__ = ["BELOW", "MEETS", "MUJOCO_ENVS", "NO_THRESHOLD", "ShippedAgent", "check_agent", "mujoco_table",
           "ship_agent", "threshold_status"]

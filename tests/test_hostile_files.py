"""Hostile agent files: each is generated here from a real agent and must be refused with one clear
paradox_gym error (never a raw exception, a hang, or an allocation sized by a number in the file)."""

from __future__ import annotations

import collections
import io
import json
import os
import pickle
import struct
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path
from typing import Any

import gymnasium
import numpy as np
import pytest
import torch
from gymnasium import spaces
from stable_baselines3 import PPO

from paradox_gym import zoo
from paradox_gym.compression import compress, load_compressed
from paradox_gym.errors import ParadoxGymError, UnsafeAgentError, UserInputError, UserTypeError
from paradox_gym.limits import MAX_AGENT_FILE_BYTES, MAX_JSON_BYTES, MAX_ZIP_MEMBERS
from paradox_gym.sb3 import load_zip
from paradox_gym.sb3.rlzoo import load_zoo_yaml
from paradox_gym.sb3.vecnormalize import load_vecnormalize

REPO = Path(__file__).resolve().parent.parent
SHIPPED_PPO = zoo.SHIPPED_DIR / "ppo-cartpole-v1.zip"
ENV = "CartPole-v1"


# --------------------------------------------------------------------------------------------------
# helpers


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _write(path: Path, members: dict[str, bytes | str], compression: int = zipfile.ZIP_STORED) -> Path:
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _torch_bytes(obj: Any) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def _state(raw: bytes) -> dict[str, torch.Tensor]:
    return torch.load(io.BytesIO(raw), weights_only=True)


def _refused(error: type[ParadoxGymError], match: str, call: Any, *args: Any, **kwargs: Any) -> str:
    """``call(*args, **kwargs)`` raises ``error`` with a one-line message matching ``match``; returns it."""
    with pytest.raises(error, match=match) as info:
        call(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message, message
    return message


@pytest.fixture(scope="module")
def sb3_members() -> dict[str, bytes]:
    return _members(SHIPPED_PPO)


@pytest.fixture(scope="module")
def compressed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The members of a saved ``ptsq`` agent (tiny untrained PPO on CartPole, net_arch [8])."""
    model = PPO("MlpPolicy", ENV, policy_kwargs=dict(net_arch=[8]), seed=0, device="cpu")
    path = tmp_path_factory.mktemp("compressed") / "a.zip"
    compress(model, "ptsq", env=ENV, calibration_steps=16).save(path)
    return _members(path)


def _with_meta(members: dict[str, bytes], **changes: Any) -> dict[str, bytes | str]:
    """Members with agent.json changed: ``net_arch=...``, ``pk_<key>=...`` (a policy kwarg) or top-level keys."""
    meta = json.loads(members["agent.json"])
    for key, value in changes.items():
        if key == "net_arch" or key.startswith("pk_"):
            meta["policy_kwargs"][key.removeprefix("pk_")] = value
        elif key.startswith("recipe_"):
            meta["recipe"][key.removeprefix("recipe_")] = value
        else:
            meta[key] = value
    return {**members, "agent.json": json.dumps(meta)}


def _corrupt_stored(raw: bytes, member: bytes) -> bytes:
    """Flip one byte of a stored member's payload (its CRC no longer matches)."""
    buf = bytearray(raw)
    i = buf.find(b"PK\x03\x04")
    while i >= 0:
        name_len, extra_len = struct.unpack_from("<HH", buf, i + 26)
        if bytes(buf[i + 30 : i + 30 + name_len]) == member:
            buf[i + 30 + name_len + extra_len + 5] ^= 0x20
        i = buf.find(b"PK\x03\x04", i + 4)
    return bytes(buf)


# --------------------------------------------------------------------------------------------------
# SB3 zips (load_zip)


def test_metadata_and_attributes_planted_in_policy_weights(sb3_members: dict[str, bytes], tmp_path: Path) -> None:
    state = _state(sb3_members["policy.pth"])
    with_metadata = collections.OrderedDict(state)
    with_metadata._metadata = 5  # type: ignore[attr-defined]  # dropped: the clean state dict has none
    model = load_zip(_write(tmp_path / "meta.zip", {**sb3_members, "policy.pth": _torch_bytes(with_metadata)}), ENV)
    assert type(model) is PPO
    for attribute in ("is_floating_point", "dim"):
        shadowed = collections.OrderedDict(state)
        tensor = shadowed["action_net.weight"].clone()
        setattr(tensor, attribute, 5)
        shadowed["action_net.weight"] = tensor
        path = _write(tmp_path / f"{attribute}.zip", {**sb3_members, "policy.pth": _torch_bytes(shadowed)})
        _refused(UnsafeAgentError, rf"tensor 'action_net.weight' carries Python attributes \('{attribute}'\)",
                 load_zip, path, ENV)


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        ("complex", UnsafeAgentError, "has dtype torch.complex64; expected floating point"),
        ("nan", UserInputError, "tensor 'action_net.bias' holds non-finite values"),
        ("name", UnsafeAgentError, r"has a tensor named 'action_net\\x00'; names are"),
        ("extra", UnsafeAgentError, "belongs to a custom network"),
        ("missing", UnsafeAgentError, "value_net is not a Linear layer"),
        ("wide", UserInputError, r"net_arch\['pi'\] has layer width 5000; widths are integers in \[1, 4096\]"),
        ("list", UnsafeAgentError, "policy.pth is not a state dict of tensors"),
    ],
)
def test_malformed_policy_weights(sb3_members: dict[str, bytes], tmp_path: Path, change: str,
                                  error: type[ParadoxGymError], match: str) -> None:
    state: Any = dict(_state(sb3_members["policy.pth"]))
    if change == "complex":
        state["action_net.bias"] = torch.zeros(2, dtype=torch.complex64)
    elif change == "nan":
        state["action_net.bias"] = torch.full((2,), float("nan"))
    elif change == "name":
        state["action_net\x00"] = torch.zeros(1)
    elif change == "extra":
        state["evil.weight"] = torch.zeros(1)
    elif change == "missing":
        del state["value_net.bias"]
    elif change == "wide":  # a real 5000-unit layer (80 kB): over MAX_LAYER_WIDTH, refused before building
        for key in [k for k in state if k.startswith("mlp_extractor.policy_net.")]:
            del state[key]
        state["mlp_extractor.policy_net.0.weight"] = torch.zeros(5000, 4)
        state["mlp_extractor.policy_net.0.bias"] = torch.zeros(5000)
        state["action_net.weight"] = torch.zeros(2, 5000)
    else:
        state = [torch.zeros(1)]
    path = _write(tmp_path / f"{change}.zip", {**sb3_members, "policy.pth": _torch_bytes(state)})
    _refused(error, match, load_zip, path, ENV)


def test_policy_weights_in_other_formats(sb3_members: dict[str, bytes], tmp_path: Path) -> None:
    raw = sb3_members["policy.pth"]
    deflated = io.BytesIO()  # torch would inflate a deflated record in full before checking its size
    with zipfile.ZipFile(io.BytesIO(raw)) as zin, zipfile.ZipFile(deflated, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info.filename))
    path = _write(tmp_path / "deflated.zip", {**sb3_members, "policy.pth": deflated.getvalue()})
    _refused(UnsafeAgentError, "record .* is compressed; torch.save stores records uncompressed", load_zip, path, ENV)
    plain = _write(tmp_path / "pickle.zip", {**sb3_members, "policy.pth": pickle.dumps(dict(_state(raw)))})
    _refused(UserInputError, "cannot read policy.pth: not a torch.save zip file", load_zip, plain, ENV)


def test_exotic_tensors_and_layouts(sb3_members: dict[str, bytes], tmp_path: Path) -> None:
    state = dict(_state(sb3_members["policy.pth"]))
    with warnings.catch_warnings():  # torch deprecates quantized tensor creation
        warnings.simplefilter("ignore", UserWarning)
        quantized = torch.quantize_per_tensor(torch.zeros(2), 0.1, 0, torch.qint8)
    exotic = {
        "sparse": (torch.zeros(2).to_sparse(), "is torch.sparse_coo on cpu; expected dense CPU"),
        "quantized": (quantized, r"is a quantized \(torch.qint8\) tensor"),
    }
    for name, (tensor, match) in exotic.items():
        weights = _torch_bytes({**state, "action_net.bias": tensor})
        path = _write(tmp_path / f"{name}.zip", {**sb3_members, "policy.pth": weights})
        _refused(UnsafeAgentError, match, load_zip, path, ENV)
    # a (2,) storage viewed as (2**30,): torch refuses it while loading
    raw = _torch_bytes({"action_net.bias": torch.zeros(2)})
    viewed = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw)) as zin, zipfile.ZipFile(viewed, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename.endswith("data.pkl"):
                data = data.replace(b"K\x00K\x02\x85", b"K\x00J\x00\x00\x00\x40\x85")
            zout.writestr(info.filename, data)
    path = _write(tmp_path / "viewed.zip", {**sb3_members, "policy.pth": viewed.getvalue()})
    _refused(UserInputError, "cannot read policy.pth", load_zip, path, ENV)
    from stable_baselines3 import TD3

    td3 = tmp_path / "td3.zip"
    TD3("MlpPolicy", "Pendulum-v1", policy_kwargs={"n_critics": 17, "net_arch": [4]}, buffer_size=1,
        device="cpu").save(td3)
    _refused(UnsafeAgentError, "17 critics, over the 16-critic limit", load_zip, td3, "Pendulum-v1")
    # the end record says 6 members; the central directory holds 3006: sized from its byte length
    lying = _write(tmp_path / "lying.zip", {**sb3_members, **{f"m{i:05d}": b"" for i in range(3000)}})
    raw = bytearray(lying.read_bytes())
    end = raw.rfind(b"PK\x05\x06")
    struct.pack_into("<HH", raw, end + 8, 6, 6)
    lying.write_bytes(bytes(raw))
    _refused(UnsafeAgentError, "zip members, over the 64-member limit", load_zip, lying, ENV)


def test_malformed_archives(sb3_members: dict[str, bytes], tmp_path: Path) -> None:
    duplicate = tmp_path / "duplicate.zip"
    with pytest.warns(UserWarning, match="Duplicate name"):
        with zipfile.ZipFile(duplicate, "w") as archive:
            for name, data in sb3_members.items():
                archive.writestr(name, data)
            archive.writestr("data", b"[]")
    _refused(UserInputError, "member 'data' occurs twice", load_zip, duplicate, ENV)
    many = _write(tmp_path / "many.zip", {**sb3_members, **{f"x{i}": b"" for i in range(MAX_ZIP_MEMBERS)}})
    _refused(UnsafeAgentError, f"zip members, over the {MAX_ZIP_MEMBERS}-member limit", load_zip, many, ENV)
    listed = _write(tmp_path / "list.zip", {**sb3_members, "data": b"[]"})
    _refused(UserInputError, "'data' is not a JSON object", load_zip, listed, ENV)
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(SHIPPED_PPO.read_bytes()[: SHIPPED_PPO.stat().st_size // 2])
    _refused(UserInputError, "is not an SB3 agent zip", load_zip, truncated, ENV)
    data = json.loads(sb3_members["data"])
    data["policy_kwargs"] = {"log_std_init": 1e308}
    huge_std = _write(tmp_path / "std.zip", {**sb3_members, "data": json.dumps(data)})
    _refused(UserInputError, r"log_std_init = 1e\+308 is outside \[-20.0, 20.0\]", load_zip, huge_std, ENV)


@pytest.mark.timeout(30)
def test_paths_that_are_not_regular_files(tmp_path: Path) -> None:
    """A FIFO or /dev/zero would block or read forever: refused from the open descriptor, never read."""
    fifo = tmp_path / "fifo.zip"
    os.mkfifo(fifo)
    zero = tmp_path / "zero.zip"
    zero.symlink_to("/dev/zero")
    empty = tmp_path / "empty.zip"
    empty.write_bytes(b"")
    sparse = tmp_path / "sparse.zip"  # no disk used: the size is checked before anything is read
    with open(sparse, "wb") as fh:
        fh.truncate(MAX_AGENT_FILE_BYTES + 1)
    for loader in (lambda p: load_zip(p, ENV), load_compressed):
        _refused(UserInputError, "is not a regular file", loader, fifo)
        _refused(UserInputError, "is not a regular file", loader, zero)
        _refused(UserInputError, "is a directory, not a file", loader, tmp_path)
        _refused(UserInputError, "is empty", loader, empty)
        _refused(UnsafeAgentError, f"over the {MAX_AGENT_FILE_BYTES}-byte limit", loader, sparse)
    _refused(UserInputError, "is not a regular file", load_vecnormalize, fifo)


class _ImageEnv(gymnasium.Env[np.ndarray, int]):
    observation_space = spaces.Box(0, 255, (36, 36, 3), np.uint8)
    action_space = spaces.Discrete(2)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        return np.zeros((36, 36, 3), np.uint8), {}

    def step(self, action: Any) -> Any:
        return np.zeros((36, 36, 3), np.uint8), 0.0, True, False, {}


def test_cnn_policies_are_named_as_such(tmp_path: Path) -> None:
    """SB3 stores a CNN's shared extractor under three names: refused as CNN, not as an oversized file."""
    path = tmp_path / "cnn.zip"
    PPO("CnnPolicy", _ImageEnv(), n_steps=16, batch_size=16, device="cpu",
        policy_kwargs={"features_extractor_kwargs": {"features_dim": 8}}).save(path)
    _refused(UnsafeAgentError, r"CNN policies are not supported \(only MLP policies\): .*cnn.zip", load_zip, path, ENV)
    members = _members(path)
    data = json.loads(members["data"])
    del data["policy_class"]  # the weights alone still say CNN
    bare = _write(tmp_path / "bare.zip", {**members, "data": json.dumps(data)})
    _refused(UnsafeAgentError, r"CNN policies are not supported \(only MLP policies\): .*features_extractor",
             load_zip, bare, ENV)


def test_unsupported_observation_space_is_named_before_a_missing_agent(tmp_path: Path) -> None:
    _refused(UserInputError, r"Blackjack-v1 has observation space Tuple\(.*supported: Box, Discrete",
             zoo.load_agent, "Blackjack-v1", "PPO", agents_path=tmp_path)
    _refused(UnsafeAgentError, r"env Blackjack-v1 has observation space Tuple", load_zip, SHIPPED_PPO, "Blackjack-v1")


# --------------------------------------------------------------------------------------------------
# compressed agents (load_compressed)


def test_untouched_compressed_agent_loads(compressed: dict[str, bytes], tmp_path: Path) -> None:
    state = _state(compressed["weights.pt"])
    with_metadata = collections.OrderedDict(state)
    with_metadata._metadata = 5  # type: ignore[attr-defined]
    path = _write(tmp_path / "meta.zip", {**compressed, "weights.pt": _torch_bytes(with_metadata)})
    assert load_compressed(path, env=ENV).method == "ptsq"


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    ("changes", "error", "match"),
    [
        (dict(net_arch=[-1]), UserInputError, r"net_arch has layer width -1; widths are integers in \[1, 4096\]"),
        (dict(net_arch=[10**7, 10**7]), UserInputError, "net_arch has layer width 10000000"),
        (dict(net_arch=[20000, 20000]), UserInputError, "net_arch has layer width 20000"),
        (dict(net_arch=[8] * 17), UserInputError, "net_arch has 17 layers, over the 16-layer limit"),
        (dict(net_arch={"pi": [8], "vf": [20000]}), UserInputError, r"net_arch\['vf'\] has layer width 20000"),
        (dict(net_arch={"pi": [8], "qf": [8]}), UserInputError, r"net_arch has keys \['qf'\]; PPO takes 'pi' and 'vf'"),
        (dict(net_arch=[4096, 4096]), UserInputError, "weights.pt holds 58 parameters but the saved net_arch and "
                                                      "spaces need 16809986"),
        (dict(net_arch="64"), UserInputError, "net_arch must be a list of layer widths, got str"),
        (dict(pk_n_critics=10**9), UserInputError, r"n_critics = 1000000000; expected an integer in \[1, 16\]"),
        (dict(pk_n_quantiles=10**9), UserInputError, "n_quantiles = 1000000000"),
        (dict(pk_log_std_init=1e308), UserInputError, r"log_std_init = 1e\+308 is outside"),
        (dict(pk_ortho_init="yes"), UserInputError, "ortho_init must be true or false"),
        (dict(action_space={"type": "Discrete", "n": 10**30}), UserInputError,
         r"n = 1000000000000000000000000000000; expected an integer in \[1, 65536\]"),
        (dict(observation_space={"type": "Box", "low": [0] * 4, "high": [1] * 4, "shape": [4], "dtype": "object"}),
         UserInputError, "dtype 'object'; expected one of float16"),
        (dict(observation_space={"type": "Box", "low": 0, "high": 1, "shape": [-1], "dtype": "float32"}),
         UserInputError, r"shape \[-1\]; expected a list of at most 8 integers >= 1"),
        (dict(observation_space={"type": "Box", "low": 0, "high": 1, "shape": [10**6, 10**6], "dtype": "float32"}),
         UserInputError, "has 1000000000000 entries, over the 1000000-entry limit"),
        (dict(observation_space={"type": "Box", "low": [float("nan")] * 4, "high": [1] * 4, "shape": [4],
                                 "dtype": "float32"}), UserInputError, "low holds NaN"),
        (dict(algo=["PPO"]), UserInputError, r"unsupported algorithm \['PPO'\]"),
        (dict(recipe_method="qat", recipe_qat_steps=10**9), UnsafeAgentError,
         "asks for 1000000000 QAT fine-tuning steps on load, over the 1000-step limit"),
        (dict(recipe_method="qat", recipe_qat_steps=99_999), UnsafeAgentError,
         "asks for 99999 QAT fine-tuning steps on load, over the 1000-step limit"),
        # within the step cap, but steps x a 4096-wide network would fine-tune for hours on load
        (dict(recipe_method="qat", recipe_qat_steps=1_000, net_arch=[4096, 4096]), UnsafeAgentError,
         r"QAT fine-tuning steps of a \d+-parameter network on load, over the 2.5e\+08 step x parameter limit"),
        # steps x parameters alone (6.7e7) is within the cap; each step's fixed cost counts too
        (dict(recipe_method="qat", recipe_qat_steps=1_000, net_arch=[256, 256]), UnsafeAgentError,
         "step x parameter limit"),
        (dict(recipe_seed=10**30), UserInputError, "seed must be an integer >= 0 and <= 4294967295"),
        (dict(recipe_seed=-1), UserInputError, "seed must be an integer >= 0"),
        (dict(recipe_calibration_steps=10**30), UserInputError, "calibration_steps must be an integer"),
        (dict(recipe_dtype=["qint8"]), UserInputError, r"unknown dtype \['qint8'\]"),
        (dict(recipe_torch_version={"a": 1}), UserInputError, "torch_version must be text"),
    ],
)
def test_tampered_agent_json_is_refused_before_building(compressed: dict[str, bytes], tmp_path: Path,
                                                        changes: dict[str, Any], error: type[ParadoxGymError],
                                                        match: str) -> None:
    path = _write(tmp_path / "bad.zip", _with_meta(compressed, **changes))
    import paradox_gym.compression.agent as agent_module

    built = []
    real_build = agent_module.build_policy
    agent_module.build_policy = lambda *a, **k: built.append(a) or real_build(*a, **k)
    try:
        _refused(error, match, load_compressed, path)
    finally:
        agent_module.build_policy = real_build
    assert not built  # refused from the numbers alone, nothing built (at any machine speed)


def test_tampered_members_of_a_compressed_agent(compressed: dict[str, bytes], tmp_path: Path) -> None:
    crc = tmp_path / "crc.zip"
    crc.write_bytes(_corrupt_stored(_write(tmp_path / "ok.zip", compressed).read_bytes(), b"agent.json"))
    _refused(UserInputError, "is not a compressed agent file .*agent.json.*BadZipFile", load_compressed, crc)
    deep = _write(tmp_path / "deep.zip", {**compressed, "agent.json": "[" * 100_000 + "]" * 100_000})
    _refused(UserInputError, "agent.json is not valid JSON .*nested deeper than 64 levels", load_compressed, deep)
    nested = _write(tmp_path / "nested.zip", {**compressed, "agent.json": "[" * 65 + "]" * 65})
    _refused(UserInputError, "nested 65 levels deep, over the 64-level limit", load_compressed, nested)
    # 17 MiB of whitespace deflates to ~17 kB: refused from its declared size, never decompressed
    blank = _write(tmp_path / "blank.zip", {**compressed, "agent.json": " " * (MAX_JSON_BYTES + 1)},
                   zipfile.ZIP_DEFLATED)
    assert blank.stat().st_size < 200_000
    _refused(UnsafeAgentError, f"'agent.json' is {MAX_JSON_BYTES + 1} bytes uncompressed, over the", load_compressed,
             blank)
    state = dict(_state(compressed["weights.pt"]))
    extra = _write(tmp_path / "extra.zip", {**compressed, "weights.pt": _torch_bytes({**state, "x": torch.zeros(1)})})
    _refused(UserInputError, "weights.pt holds 59 parameters but the saved net_arch and spaces need 58",
             load_compressed, extra)
    renamed = {("x" + k if i == 0 else k): v for i, (k, v) in enumerate(state.items())}
    moved = _write(tmp_path / "moved.zip", {**compressed, "weights.pt": _torch_bytes(renamed)})
    _refused(UserInputError, "saved weights do not fit the saved architecture", load_compressed, moved)
    integers = {k: v.to(torch.int64) for k, v in state.items()}
    ints = _write(tmp_path / "ints.zip", {**compressed, "weights.pt": _torch_bytes(integers)})
    _refused(UnsafeAgentError, "has dtype torch.int64; expected floating point", load_compressed, ints)


@pytest.mark.parametrize(
    ("calibration", "error", "match"),
    [
        (torch.full((16, 4), float("nan")), UserInputError, "calibration.pt holds non-finite values"),
        (torch.zeros((16, 4), dtype=torch.complex64), UserInputError, "complex64 tensor; expected a real"),
        (torch.zeros(1).expand(10**6, 4), UnsafeAgentError, "declares more bytes than the file holds"),
        ({"x": torch.zeros(16, 4)}, UnsafeAgentError, "calibration.pt holds a dict, not a tensor"),
        (torch.zeros((100_001, 4), dtype=torch.bool), UnsafeAgentError,
         "calibration.pt holds 100001 observations, over the 100000-observation limit"),
        (torch.full((16, 4), 1e300, dtype=torch.float64), UserInputError, "not finite in float32"),
    ],
)
def test_tampered_calibration(compressed: dict[str, bytes], tmp_path: Path, calibration: Any,
                              error: type[ParadoxGymError], match: str) -> None:
    path = _write(tmp_path / "calibration.zip", {**compressed, "calibration.pt": _torch_bytes(calibration)})
    _refused(error, match, load_compressed, path)


def test_env_argument_of_load_compressed(compressed: dict[str, bytes], tmp_path: Path) -> None:
    path = _write(tmp_path / "ok.zip", compressed)
    _refused(UserInputError, "unknown environment 'NoSuchEnv-v0'", load_compressed, path, env="NoSuchEnv-v0")
    _refused(UserInputError, "unknown environment 'CartPol-v1'; did you mean 'CartPole-v1'", load_compressed, path,
             env="CartPol-v1")
    _refused(UserTypeError, "env must be an env id string, a gymnasium.Env or a VecEnv, got int", load_compressed,
             path, env=42)


class _NanCartPole(gymnasium.Env[np.ndarray, int]):
    observation_space = gymnasium.make(ENV).observation_space
    action_space = spaces.Discrete(2)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        return np.zeros(4, np.float32), {}

    def step(self, action: Any) -> Any:
        return np.full(4, np.nan, np.float32), 0.0, False, False, {}


def test_ptsq_calibration_on_nan_observations() -> None:
    model = PPO("MlpPolicy", ENV, policy_kwargs=dict(net_arch=[8]), seed=0, device="cpu")
    _refused(UserInputError, r"ptsq / qat calibration: the environment _NanCartPole returned non-finite observations "
                             r"\(NaN or infinity\) during calibration, at observation 2 of 16",
             compress, model, "ptsq", env=_NanCartPole(), calibration_steps=16)


# --------------------------------------------------------------------------------------------------
# statistics and configs beside an agent


def test_hostile_vecnormalize_statistics(tmp_path: Path) -> None:
    def pkl(name: str, payload: bytes) -> Path:
        path = tmp_path / name
        path.write_bytes(payload)
        return path

    # numpy.ndarray((10**9,)) would allocate 8 GB: a direct call is refused, as is a huge _reconstruct shape
    call = b"cnumpy\nndarray\n(I1000000000\ntR."
    _refused(UnsafeAgentError, r"direct numpy.ndarray\(...\) call is refused", load_vecnormalize, pkl("nd.pkl", call))
    reconstruct = b"cnumpy.core.multiarray\n_reconstruct\n(cnumpy\nndarray\n(I1000000000\ntS'b'\ntR."
    _refused(UnsafeAgentError, "array shape .* refused", load_vecnormalize, pkl("rec.pkl", reconstruct))
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.running_mean_std import RunningMeanStd
    from stable_baselines3.common.vec_env import VecNormalize

    stats = VecNormalize(make_vec_env(ENV, n_envs=1))
    cases: list[tuple[str, Any, type[ParadoxGymError], str]] = [
        ("var", np.full(4, np.nan), UserInputError, "obs_rms.var holds non-finite values"),
        ("var", -np.ones(4), UserInputError, "obs_rms.var holds negative values"),
        ("mean", np.zeros(5), UserInputError, r"obs_rms.mean \(5,\) and obs_rms.var \(4,\) differ"),
        ("clip_obs", float("nan"), UserInputError, "clip_obs = nan is not a finite non-negative number"),
        ("epsilon", 0.0, UserInputError, r"obs_rms.var \+ epsilon has zero entries"),
    ]
    for field, value, error, match in cases:
        stats.obs_rms = RunningMeanStd(shape=(4,))
        stats.clip_obs, stats.epsilon = 10.0, 1e-8
        if field == "clip_obs":
            stats.clip_obs = value
        elif field == "epsilon":
            stats.epsilon = value
            stats.obs_rms.var = np.zeros(4)
        else:
            setattr(stats.obs_rms, field, value)
        path = tmp_path / f"{field}.pkl"
        path.write_bytes(pickle.dumps(stats))
        _refused(error, match, load_vecnormalize, path, gymnasium.make(ENV).observation_space)
    stats.obs_rms = RunningMeanStd(shape=(3,))
    stats.obs_rms.mean, stats.obs_rms.var = np.zeros(3), np.ones(3)
    stats.clip_obs, stats.epsilon = 10.0, 1e-8
    wrong = tmp_path / "wrong.pkl"
    wrong.write_bytes(pickle.dumps(stats))
    _refused(UserInputError, r"statistics of shape \(3,\) do not fit", load_vecnormalize, wrong,
             gymnasium.make(ENV).observation_space)
    stats.close()


def test_yaml_alias_bomb_and_deep_nesting(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 12)]
    bomb = tmp_path / "bomb.yml"
    bomb.write_text("\n".join(lines) + "\nframe_stack: *a11\n")  # 10**12 values once expanded
    _refused(UserInputError, "expands to more than 100000 values", load_zoo_yaml, bomb)
    deep = tmp_path / "deep.yml"
    deep.write_text("a: " + "[" * 50_000 + "]" * 50_000 + "\n")
    _refused(UserInputError, "nests too deeply", load_zoo_yaml, deep)
    recursive = tmp_path / "recursive.yml"
    recursive.write_text("a: &r [1, *r]\n")
    _refused(UserInputError, "nests deeper than 64 levels", load_zoo_yaml, recursive)


# --------------------------------------------------------------------------------------------------
# the command line: one line, exit status 2, no traceback


@pytest.mark.timeout(120)
def test_cli_refuses_hostile_agents_with_one_line(sb3_members: dict[str, bytes], tmp_path: Path) -> None:
    state = collections.OrderedDict(_state(sb3_members["policy.pth"]))
    tensor = state["action_net.weight"].clone()
    tensor.dim = 5  # type: ignore[method-assign]
    state["action_net.weight"] = tensor
    shadowed = _write(tmp_path / "shadowed.zip", {**sb3_members, "policy.pth": _torch_bytes(state)})
    fifo = tmp_path / "fifo.zip"
    os.mkfifo(fifo)
    for agent, message in ((shadowed, "carries Python attributes ('dim')"), (fifo, "is not a regular file")):
        proc = subprocess.run(
            [sys.executable, str(REPO / "scripts" / "evaluate.py"), "--agent", str(agent), "--env", ENV,
             "--out", str(tmp_path / "out")],
            capture_output=True, text=True, timeout=100, check=False,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1, proc.stderr
        assert message in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize(("option", "value"), [("calibration_steps", 10**12), ("qat_steps", 10**9)])
def test_compress_counts_are_capped(option: str, value: int) -> None:
    from paradox_gym.compression.recipe import build_recipe

    options = {"amount": 0.5, "dtype": "qint8", "pruning": "l1", "env": ENV, "calibration_steps": 512,
               "backend": None, "seed": 0, option: value}
    _refused(UserInputError, f"{option} must be an integer >= 1 and <= ", build_recipe, "qat", **options)


def test_env_kwargs_that_change_the_spaces_are_refused_before_measuring() -> None:
    """An rl-zoo3 run folder's env_kwargs must not give the agent an environment of other spaces."""
    from types import SimpleNamespace

    from paradox_gym.experiment.agents import check_eval_spaces

    env_id = "paradox_gym/MockDRLDiscrete-v0"
    model = load_zip(zoo.SHIPPED_DIR / "dqn-paradox_gym_mockdrldiscrete-v0.zip", env_id)
    _refused(UserInputError, r"but paradox_gym/MockDRLDiscrete-v0 with env_kwargs \{'n_actions': 16\} has",
             check_eval_spaces, model, SimpleNamespace(env_id=env_id, env_kwargs={"n_actions": 16}))
    check_eval_spaces(model, SimpleNamespace(env_id=env_id, env_kwargs={"complexity": 0.5}))  # same spaces

"""Reading agent files that may be hostile: every check made before anything is read, parsed or allocated.

Shared by the SB3 safe loader (:func:`paradox_gym.sb3.safe_load.load_zip`) and by compressed agents
(:func:`paradox_gym.compression.agent.load_compressed`). Nothing here unpickles anything beyond what
``torch.load(weights_only=True)`` allows, and every size a file names is checked against
:mod:`paradox_gym.limits` first, so a hostile file can neither run code, nor hang, nor make paradox_gym
allocate memory in proportion to a number it names:

* :func:`open_agent_file`: the path must be a regular file (not a directory, FIFO or device: a symlink to
  ``/dev/zero`` or a named pipe would otherwise block or read forever) of at most ``MAX_AGENT_FILE_BYTES``;
* :func:`open_zip`: at most ``MAX_ZIP_MEMBERS`` members, counted from the end-of-central-directory record
  (its member count and its central-directory byte size) before the member list is parsed, each name at
  most once;
* :func:`read_member`: a member's declared uncompressed size is checked against its cap before
  decompressing, and at most cap + 1 bytes are ever read (a lying header fails its CRC check instead);
* :func:`decode_json`: UTF-8 JSON nested at most ``MAX_JSON_DEPTH`` levels;
* :func:`load_tensor_file` / :func:`check_state_dict` / :func:`check_tensor`: ``torch.save`` zip files whose
  records are all stored (a deflated record would be inflated in full by torch), read with
  ``weights_only=True``, then checked to be exactly what a state dict of real, dense, finite CPU tensors is;
* :func:`check_layer_sizes` / :func:`policy_parameters`: layer widths, depth and parameter counts of a
  policy, checked before it is built.

Sizes are in bytes (``_bytes``) or counts (entries, parameters, layers).
"""

from __future__ import annotations

import collections
import io
import json
import math
import os
import pickle
import re
import warnings
import zipfile
from collections.abc import Sequence
from typing import IO, Any

from paradox_gym._util.cli import one_line
from paradox_gym._util.files import open_regular_file
from paradox_gym.errors import AgentNotFoundError, UnsafeAgentError, UserInputError
from paradox_gym.limits import (
    MAX_AGENT_FILE_BYTES,
    MAX_JSON_DEPTH,
    MAX_LAYER_WIDTH,
    MAX_LAYERS,
    MAX_POLICY_PARAMETERS,
    MAX_TENSORS,
    MAX_ZIP_MEMBERS,
)

#: A state-dict key: dotted Python identifiers and indices (``mlp_extractor.policy_net.0.weight``).
_TENSOR_NAME = re.compile(r"[A-Za-z0-9_.]{1,200}")
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


# --------------------------------------------------------------------------------------------------
# files and zip archives


def open_agent_file(path: str | os.PathLike[str], what: str) -> IO[bytes]:
    """Open ``path`` for reading after checking it is a regular file of 1 to ``MAX_AGENT_FILE_BYTES`` bytes
    (:func:`paradox_gym._util.files.open_regular_file`: a FIFO or a device, or a symlink to one, is refused
    without ever being read). ``what`` names the file in messages (e.g. ``"agent file"``). Raises
    AgentNotFoundError (nothing at ``path``), UserInputError (a directory, a FIFO, a device, an empty file,
    an unreadable file), UnsafeAgentError (over the size cap).
    """
    return open_regular_file(path, what, MAX_AGENT_FILE_BYTES, allow_empty=False, missing=AgentNotFoundError,
                             too_big=UnsafeAgentError)


#: Bytes of central directory allowed per member (46-byte record, name, zip64 extra; names here are short).
_CENTRAL_DIRECTORY_BYTES_PER_MEMBER = 1024


def _zip_entry_count(fh: IO[bytes]) -> int | None:
    """Number of members the end-of-central-directory record declares, or None when there is no such record.

    zipfile parses the central directory by its declared byte size, whatever the count says, so a size over
    ``_CENTRAL_DIRECTORY_BYTES_PER_MEMBER`` per allowed member is reported as that many members.
    """
    end = zipfile._EndRecData(fh)  # type: ignore[attr-defined]  # stable since Python 2; not parsed further
    fh.seek(0)
    if end is None:
        return None
    count = int(end[zipfile._ECD_ENTRIES_TOTAL])  # type: ignore[attr-defined]
    directory_bytes = int(end[zipfile._ECD_SIZE])  # type: ignore[attr-defined]
    return max(count, directory_bytes // _CENTRAL_DIRECTORY_BYTES_PER_MEMBER)


def open_zip(fh: IO[bytes], where: str, kind: str) -> zipfile.ZipFile:
    """``zipfile.ZipFile(fh)`` after checking the declared member count (at most ``MAX_ZIP_MEMBERS``) and,
    once opened, that no member name occurs twice.

    ``where`` names the file and ``kind`` what it should be (``"an SB3 agent zip"``) in messages. Raises
    UserInputError (not a zip, duplicate names), UnsafeAgentError (too many members).
    """
    try:
        count = _zip_entry_count(fh)
    except OSError as exc:
        raise UserInputError(f"{where} is not {kind} ({exc})") from None
    if count is None:
        raise UserInputError(f"{where} is not {kind} (not a zip archive)")
    if count > MAX_ZIP_MEMBERS:
        raise UnsafeAgentError(f"{where} declares {count} zip members, over the {MAX_ZIP_MEMBERS}-member limit")
    try:
        archive = zipfile.ZipFile(fh)
    except Exception as exc:  # noqa: BLE001 - BadZipFile, bad offsets, unsupported features: a corrupt file
        raise UserInputError(f"{where} is not {kind} ({type(exc).__name__}: {exc})") from None
    names = archive.namelist()
    if len(names) > MAX_ZIP_MEMBERS:
        archive.close()
        raise UnsafeAgentError(f"{where} holds {len(names)} zip members, over the {MAX_ZIP_MEMBERS}-member limit")
    seen: set[str] = set()
    for name in names:
        if name in seen:
            archive.close()
            raise UserInputError(f"{where} is not {kind} (member {name!r} occurs twice)")
        seen.add(name)
    return archive


def read_member(archive: zipfile.ZipFile, name: str, limit: int, where: str, kind: str) -> bytes:
    """The bytes of member ``name`` (at most ``limit`` bytes uncompressed, else UnsafeAgentError).

    The declared size is checked before decompressing and at most ``limit + 1`` bytes are read whatever the
    header says. A CRC mismatch, a truncated or undecodable member is a UserInputError (``where`` is not
    ``kind``). Raises KeyError when there is no such member.
    """
    info = archive.getinfo(name)
    if info.file_size > limit:
        raise UnsafeAgentError(
            f"{where}: member {name!r} is {info.file_size} bytes uncompressed, over the {limit}-byte limit"
        )
    try:
        with archive.open(info) as member:
            data = member.read(limit + 1)
    except Exception as exc:  # noqa: BLE001 - CRC, zlib/lzma/bz2 errors, encryption, unknown methods, EOF
        raise UserInputError(f"{where} is not {kind} (member {name!r}: {type(exc).__name__}: {exc})") from None
    if len(data) > limit:
        raise UnsafeAgentError(f"{where}: member {name!r} is over the {limit}-byte limit once decompressed")
    return data


# --------------------------------------------------------------------------------------------------
# JSON


def json_depth(value: Any) -> int:
    """Nesting depth of a parsed JSON value (0 for a scalar, 1 for ``[]`` or ``{}``), computed iteratively."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            deepest = max(deepest, depth)
            continue
        deepest = max(deepest, depth + 1)
        stack.extend((child, depth + 1) for child in children)
    return deepest


def decode_json(raw: bytes) -> Any:
    """Parse UTF-8 JSON nested at most ``MAX_JSON_DEPTH`` levels.

    Raises ValueError with a one-line reason (bad UTF-8, bad JSON, an integer over Python's digit limit,
    nesting too deep); callers turn it into a user error naming the file.
    """
    try:
        value = json.loads(raw.decode("utf-8"))
    except RecursionError:
        raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels") from None
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise ValueError(one_line(exc)[:200]) from None
    depth = json_depth(value)
    if depth > MAX_JSON_DEPTH:
        raise ValueError(f"nested {depth} levels deep, over the {MAX_JSON_DEPTH}-level limit")
    return value


# --------------------------------------------------------------------------------------------------
# tensor files


def unpickling_reason(exc: BaseException) -> str:
    """The informative line of torch's weights_only refusal (e.g. ``Unsupported global: GLOBAL os.system``)."""
    text = _ANSI_ESCAPE.sub("", str(exc))
    if "WeightsUnpickler error:" in text:
        text = text.split("WeightsUnpickler error:", 1)[1]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    first = lines[0]
    return first.split(". ", 1)[0].rstrip(".")  # torch goes on to explain how to load it unsafely


def _check_torch_zip(raw: bytes, where: str, member: str) -> None:
    """``raw`` must be a ``torch.save`` zip whose records are all stored uncompressed and lie inside it.

    torch inflates a deflated record in full before checking its size, so a small file could otherwise
    ask for gigabytes; torch's pre-1.6 (non-zip) format allocates storages of the sizes its pickle names.
    """
    with io.BytesIO(raw) as fh:
        try:
            count = _zip_entry_count(fh)
        except OSError:
            count = None
        if count is None:
            raise UserInputError(
                f"{where}: cannot read {member}: not a torch.save zip file (torch >= 1.6 writes one); other "
                f"formats, plain pickles included, are refused"
            )
        if count > MAX_TENSORS + 8:
            raise UnsafeAgentError(f"{where}: {member} holds {count} records, over the {MAX_TENSORS}-tensor limit")
        try:
            with zipfile.ZipFile(fh) as inner:
                infos = inner.infolist()
        except Exception as exc:  # noqa: BLE001 - a corrupt inner archive
            raise UserInputError(f"{where}: cannot read {member}: not a readable torch.save file ({exc})") from None
    for info in infos:
        if info.compress_type != zipfile.ZIP_STORED or info.file_size != info.compress_size:
            raise UnsafeAgentError(
                f"{where}: {member} record {info.filename!r} is compressed; torch.save stores records "
                f"uncompressed, refusing to inflate it"
            )
        if info.header_offset + info.file_size > len(raw):
            raise UserInputError(f"{where}: {member} record {info.filename!r} lies outside the file (truncated?)")


def load_tensor_file(raw: bytes, where: str, member: str) -> Any:
    """``torch.load(raw, weights_only=True)`` on CPU, after :func:`_check_torch_zip`.

    Returns whatever torch rebuilt (check it with :func:`check_state_dict` / :func:`check_tensor`). Raises
    UnsafeAgentError (a pickle that names anything but tensors and containers, compressed records) and
    UserInputError (not a torch.save zip, an unreadable file).
    """
    import torch

    _check_torch_zip(raw, where, member)
    try:
        with warnings.catch_warnings():  # e.g. "Detected pickle protocol 4": the refusal below says enough
            warnings.simplefilter("ignore", UserWarning)
            return torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise UnsafeAgentError(
            f"{where}: {member} is not a plain tensor file; refusing to unpickle it ({unpickling_reason(exc)})"
        ) from None
    except Exception as exc:  # noqa: BLE001 - any decoding failure means a corrupt file
        first = one_line(exc)[:200] or type(exc).__name__
        raise UserInputError(f"{where}: cannot read {member} ({first})") from None


def _plain_tensor(value: Any, name: str, where: str, member: str) -> Any:
    """``value`` as a fresh plain tensor sharing its data, if it is a genuine dense CPU tensor.

    The exact type must be ``torch.Tensor`` or ``torch.nn.Parameter`` and it must carry no Python
    attributes (``weights_only`` can restore a tensor's ``__dict__``, whose entries would shadow methods
    such as ``dim`` or ``is_floating_point``). Only data descriptors (``dtype``, ``layout``, ...) and
    unbound ``torch.Tensor`` methods are used before that check.
    """
    import torch

    if type(value) not in (torch.Tensor, torch.nn.Parameter):
        raise UnsafeAgentError(f"{where}: {member} entry {name!r} is a {type(value).__name__}, not a tensor")
    attributes = object.__getattribute__(value, "__dict__")
    if attributes:
        shown = ", ".join(repr(k) for k in list(attributes)[:3])
        raise UnsafeAgentError(
            f"{where}: {member} tensor {name!r} carries Python attributes ({shown}); not a plain tensor"
        )
    if value.is_nested or value.is_quantized:
        kind = "nested" if value.is_nested else f"quantized ({value.dtype})"
        raise UnsafeAgentError(f"{where}: {member} tensor {name!r} is a {kind} tensor; expected a plain dense one")
    if value.layout != torch.strided or value.device.type != "cpu":
        raise UnsafeAgentError(
            f"{where}: {member} tensor {name!r} is {value.layout} on {value.device}; expected dense CPU"
        )
    return torch.Tensor.detach(value)


def _byte_size(tensors: Sequence[Any]) -> int:
    """Bytes the tensors describe (numel x element size), each distinct view counted once (views sharing
    one storage with the same offset, shape and strides, as SB3's shared features extractors, are one)."""
    seen: set[tuple[int, int, tuple[int, ...], tuple[int, ...]]] = set()
    total = 0
    for tensor in tensors:
        key = (tensor.untyped_storage().data_ptr(), tensor.storage_offset(), tuple(tensor.shape), tensor.stride())
        if key in seen:
            continue
        seen.add(key)
        total += tensor.numel() * tensor.element_size()
    return total


def check_state_dict(obj: Any, where: str, member: str, file_bytes: int) -> dict[str, Any]:
    """A clean ``OrderedDict`` of name -> float tensor from what ``torch.load`` returned, or a user error.

    ``obj`` must be a dict of at most ``MAX_TENSORS`` entries, each a ``[A-Za-z0-9_.]`` name and a plain
    (see :func:`_plain_tensor`) floating-point tensor holding only finite values. Anything else a pickle
    can attach (``_metadata``, attributes) is dropped or refused. The tensors must not describe more bytes
    than ``file_bytes`` (the size of the tensor file): ``torch.save`` stores every tensor's data, so a
    larger total means broadcast views (stride 0) that would make a rebuilt policy huge.
    """
    import torch

    if type(obj) not in (dict, collections.OrderedDict):
        raise UnsafeAgentError(f"{where}: {member} is not a state dict of tensors (it holds a {type(obj).__name__})")
    if len(obj) > MAX_TENSORS:
        raise UnsafeAgentError(f"{where}: {member} holds {len(obj)} tensors, over the {MAX_TENSORS}-tensor limit")
    clean: dict[str, Any] = collections.OrderedDict()
    for name, value in obj.items():
        if type(name) is not str or not _TENSOR_NAME.fullmatch(name):
            shown = repr(name) if len(repr(name)) <= 80 else repr(name)[:77] + "..."
            raise UnsafeAgentError(
                f"{where}: {member} has a tensor named {shown}; names are 1 to 200 characters of [A-Za-z0-9_.]"
            )
        tensor = _plain_tensor(value, name, where, member)
        if not tensor.is_floating_point():
            raise UnsafeAgentError(f"{where}: tensor {name!r} has dtype {tensor.dtype}; expected floating point")
        clean[name] = tensor
    total = _byte_size(list(clean.values()))
    if total > file_bytes:
        raise UnsafeAgentError(
            f"{where}: {member} declares {total} bytes of weights but holds only {file_bytes}; "
            f"refusing to rebuild a policy that large"
        )
    for name, tensor in clean.items():
        if not bool(torch.isfinite(tensor).all()):
            raise UserInputError(f"{where}: tensor {name!r} holds non-finite values (NaN or infinity)")
    return clean


def check_tensor(obj: Any, where: str, member: str, file_bytes: int) -> Any:
    """A plain real tensor (float, integer or bool; finite) from what ``torch.load`` returned, else a user error.

    Complex, quantized, sparse, nested and meta tensors are refused, as are broadcast views describing more
    bytes than ``file_bytes``.
    """
    import torch

    if type(obj) not in (torch.Tensor, torch.nn.Parameter):
        raise UnsafeAgentError(f"{where}: {member} holds a {type(obj).__name__}, not a tensor")
    tensor = _plain_tensor(obj, "tensor", where, member)
    if tensor.is_complex():
        raise UserInputError(
            f"{where}: {member} holds a {tensor.dtype} tensor; expected a real (float or integer) array"
        )
    if _byte_size([tensor]) > file_bytes:
        raise UnsafeAgentError(f"{where}: {member} declares more bytes than the file holds; refusing it")
    if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
        raise UserInputError(f"{where}: {member} holds non-finite values (NaN or infinity)")
    return tensor


# --------------------------------------------------------------------------------------------------
# network shapes


def check_layer_sizes(sizes: Any, what: str, where: str) -> list[int]:
    """``sizes`` as a list of hidden-layer widths: at most ``MAX_LAYERS`` ints in ``[1, MAX_LAYER_WIDTH]``.

    ``what`` names the list in messages (``"net_arch['pi']"``). Raises UserInputError naming the bad entry.
    """
    if not isinstance(sizes, list):
        raise UserInputError(f"{where}: {what} must be a list of layer widths, got {type(sizes).__name__}")
    if len(sizes) > MAX_LAYERS:
        raise UserInputError(f"{where}: {what} has {len(sizes)} layers, over the {MAX_LAYERS}-layer limit")
    for width in sizes:
        if isinstance(width, bool) or not isinstance(width, int) or not 1 <= width <= MAX_LAYER_WIDTH:
            raise UserInputError(
                f"{where}: {what} has layer width {width!r}; widths are integers in [1, {MAX_LAYER_WIDTH}]"
            )
    return list(sizes)


def mlp_parameters(sizes: Sequence[int]) -> int:
    """Weights and biases of a chain of Linear layers ``sizes[0] -> sizes[1] -> ... -> sizes[-1]``."""
    return sum(a * b + b for a, b in zip(sizes, sizes[1:]))


def policy_parameters(family: str, obs_dim: int, act_dim: int, pi: Sequence[int], other: Sequence[int],
                      n_critics: int = 1, critic_out: int = 1) -> int:
    """Parameters (all networks, target copies included) of an SB3 MLP policy, computed without building it.

    ``family``: ``"actor-critic"`` (PPO, A2C, TRPO: ``other`` is the value net), ``"dqn"`` (DQN, QR-DQN:
    ``pi`` is the Q net, ``act_dim`` its output size, i.e. actions x quantiles), ``"sac"`` (SAC, TQC) or
    ``"td3"`` (TD3, DDPG), whose ``other`` is the critics' hidden sizes. An upper estimate within a few
    hundred parameters (gSDE and log-std parameters are counted at their largest).
    """
    if family == "actor-critic":
        last_pi = pi[-1] if pi else obs_dim
        return mlp_parameters([obs_dim, *pi, act_dim]) + mlp_parameters([obs_dim, *other, 1]) + last_pi * act_dim
    if family == "dqn":
        return 2 * mlp_parameters([obs_dim, *pi, act_dim])
    critics = 2 * n_critics * mlp_parameters([obs_dim + act_dim, *other, critic_out])
    if family == "sac":
        last_pi = pi[-1] if pi else obs_dim
        return mlp_parameters([obs_dim, *pi]) + 3 * (last_pi * act_dim + act_dim) + critics
    return 2 * mlp_parameters([obs_dim, *pi, act_dim]) + critics


def check_policy_parameters(count: int, where: str, described: str) -> None:
    """UnsafeAgentError unless ``count`` (see :func:`policy_parameters`) is at most ``MAX_POLICY_PARAMETERS``."""
    if count > MAX_POLICY_PARAMETERS:
        raise UnsafeAgentError(
            f"{where}: {described} would have {count} parameters, over the {MAX_POLICY_PARAMETERS}-parameter "
            f"limit; refusing to build it"
        )


def finite_number(value: Any, what: str, where: str, low: float, high: float) -> float:
    """``value`` as a float in ``[low, high]`` (finite, not a bool), else UserInputError naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise UserInputError(f"{where}: {what} must be a number, got {value!r}")
    try:
        number = float(value)
    except OverflowError:  # an integer beyond float range
        number = math.inf
    if not (math.isfinite(number) and low <= number <= high):
        raise UserInputError(f"{where}: {what} = {value!r} is outside [{low}, {high}]")
    return number

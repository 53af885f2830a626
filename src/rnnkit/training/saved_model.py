"""The saved-model directory: safetensors weights + JSON config + JSON extras, no pickle.

Layout of ``save_model("models/lm", model, extras={"vocab": vocab.to_json()})``::

    models/lm/
      config.json          {"format": "rnnkit-saved-model", "format_version": 1,
                            "rnnkit_version": "0.1.0",
                            "model_class": "rnnkit.models.language:LanguageModel",
                            "config_class": "rnnkit.models.language:LanguageModelConfig",
                            "config": {...dataclasses.asdict(model.config)...},
                            "weights": "model.safetensors", "weights_sha256": "...",
                            "extras": ["vocab"]}
      model.safetensors    every tensor of model.state_dict() (tied weights stored once)
      vocab.json           one file per extra

The convention every saveable model follows: it is built as ``Model(config)`` where ``config``
is a dataclass (JSON-able through ``dataclasses.asdict``: numbers, strings, bools, None, lists,
tuples, dicts, nested dataclasses, enums, paths) kept as ``model.config``. ``load_model`` rebuilds
the config from the dataclass's type hints (its ``__post_init__`` validates it again), builds
``Model(config)`` and loads the weights::

    model, extras = load_model("models/lm")          # model in eval mode, on the CPU
    vocab = extras["vocab"]

Safety: ``load_model`` never unpickles and only imports classes from ``rnnkit.`` modules; for a
model class of your own pass it explicitly, ``load_model(path, model_class=MyModel)`` (its config
class is then looked up in the same module). The directory is written atomically: everything
goes into a hidden temporary sibling, which then replaces the target in one rename (Linux
``renameat2(RENAME_EXCHANGE)``; elsewhere two renames), so a crash leaves the old model or the
new one, never a mix. Missing, corrupt or mismatched files raise ``CheckpointError`` naming the
file and the fix.
"""

from __future__ import annotations

import ctypes
import dataclasses
import enum
import errno
import hashlib
import importlib
import json
import logging
import os
from collections.abc import Sequence
import re
import shutil
import sys
import tempfile
import types
import typing
from pathlib import Path, PurePath
from typing import Any

import safetensors
import safetensors.torch
from torch import nn

from rnnkit.errors import CheckpointError

log = logging.getLogger(__name__)

FORMAT = "rnnkit-saved-model"
FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
RESERVED_EXTRAS = ("config", "model")
EXTRA_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


# ---------------------------------------------------------------------------- config <-> JSON
def _to_json(value: Any) -> Any:
    """``dataclasses.asdict`` output made JSON-able (enums by value, paths as strings, tuples as lists)."""
    if isinstance(value, enum.Enum):
        return _to_json(value.value)
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_json(v) for v in value]
    return value


def config_to_json(config: Any) -> dict[str, Any]:
    """A dataclass instance as a JSON-able dict (``TypeError`` naming the field if impossible)."""
    data = _to_json(dataclasses.asdict(config))
    for name, value in data.items():
        try:
            json.dumps(value, allow_nan=True)
        except TypeError as err:
            raise TypeError(f"{type(config).__name__}.{name} = {value!r} cannot be saved as JSON ({err}); keep "
                            "config fields to numbers, strings, lists, dicts and dataclasses") from None
    return data


def _from_json(hint: Any, value: Any, where: str) -> Any:
    """Rebuild a value of type ``hint`` from its JSON form."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if hint is Any or value is None:
        return value
    if origin in (typing.Union, types.UnionType):
        candidates = [a for a in args if a is not type(None)]
        if len(candidates) == 1:
            return _from_json(candidates[0], value, where)
        for candidate in candidates:
            if dataclasses.is_dataclass(candidate) and isinstance(value, dict):
                return _from_json(candidate, value, where)
        return value
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return config_from_json(hint, value, where)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint(value)
    if isinstance(hint, type) and issubclass(hint, PurePath):
        return hint(value)
    if origin is tuple and isinstance(value, list):
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_from_json(args[0], v, where) for v in value)
        if args and len(args) == len(value):
            return tuple(_from_json(a, v, where) for a, v in zip(args, value))
        return tuple(value)
    if origin is list and isinstance(value, list):
        return [_from_json(args[0], v, where) if args else v for v in value]
    if origin is dict and isinstance(value, dict):
        return {k: _from_json(args[1], v, where) if args else v for k, v in value.items()}
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def config_from_json(config_class: type, data: Any, where: str = CONFIG_FILE) -> Any:
    """Build ``config_class(**data)`` with nested values rebuilt from the type hints."""
    if not isinstance(data, dict):
        raise CheckpointError(f"{where}: the config of {config_class.__name__} must be a JSON object (got "
                              f"{type(data).__name__}); save the model again")
    hints = typing.get_type_hints(config_class)
    fields = {f.name for f in dataclasses.fields(config_class) if f.init}
    unknown = sorted(set(data) - fields)
    if unknown:
        raise CheckpointError(f"{where}: {config_class.__name__} has no field(s) {unknown}; the model was saved by "
                              "another rnnkit version: load it with that version or save it again")
    kwargs = {name: _from_json(hints.get(name, Any), value, where) for name, value in data.items()}
    try:
        return config_class(**kwargs)
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"{where}: the saved config does not build {config_class.__name__} ({err}); save "
                              "the model again") from err


# ---------------------------------------------------------------------------- classes by name
def _class_path(cls: type) -> str:
    """``"package.module:Qualname"`` of a class."""
    return f"{cls.__module__}:{cls.__qualname__}"


def _resolve_class(path: Any, *, trusted_module: str | None, what: str, directory: Path) -> type:
    """The class at ``"module:Qualname"``: only from ``rnnkit`` modules or the already-imported ``trusted_module``."""
    where = directory / CONFIG_FILE
    if not isinstance(path, str) or path.count(":") != 1:
        raise CheckpointError(f"{where}: {what} {path!r} is not a 'module:Class' path; save the model again")
    module_name, qualname = path.split(":")
    if module_name == trusted_module:
        module = sys.modules[module_name]
    elif module_name == "rnnkit" or module_name.startswith("rnnkit."):
        try:
            module = importlib.import_module(module_name)
        except ImportError as err:
            raise CheckpointError(f"{where}: {what} {path!r} does not exist in this rnnkit ({err}); load it with "
                                  "the rnnkit version that saved it") from err
    else:
        raise CheckpointError(f"{where}: refusing to import {what} {path!r}: load_model only imports rnnkit "
                              "classes; pass your class as load_model(path, model_class=...)")
    obj: Any = module
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
    if not isinstance(obj, type):
        raise CheckpointError(f"{where}: {what} {path!r} does not exist in this rnnkit; load it with the rnnkit "
                              "version that saved it")
    return obj


def _rnnkit_version() -> str:
    from rnnkit import __version__  # the package imports this module: look the version up when saving

    return __version__


# ---------------------------------------------------------------------------- files
def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync_tree(directory: Path) -> None:
    for path in (*directory.iterdir(), directory):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux ``renameat2``); ``False`` where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def _replace_directory(new: Path, target: Path) -> None:
    """Put the complete directory ``new`` at ``target``, replacing an old one atomically where possible."""
    if not target.exists():
        os.rename(new, target)
        return
    if _exchange(new, target):
        shutil.rmtree(new)                       # ``new`` now holds the old model
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    os.rename(target, old / target.name)
    os.rename(new, target)
    shutil.rmtree(old)


def is_saved_model(directory: str | os.PathLike[str]) -> bool:
    """Whether ``directory`` holds a saved model's ``config.json`` (complete or not)."""
    path = Path(directory) / CONFIG_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("format") == FORMAT
    except (OSError, ValueError, AttributeError):
        return False


# ---------------------------------------------------------------------------- public API
def save_model(directory: str | os.PathLike[str], model: nn.Module, extras: dict[str, Any] | None = None) -> Path:
    """Write ``model`` (weights + config) and JSON ``extras`` into ``directory``, atomically.

    Args:
        directory: the saved-model folder; an existing saved model there is replaced, any other
            non-empty folder is refused (nothing of yours is deleted).
        model: an ``nn.Module`` built as ``Model(config)`` with the dataclass kept as ``model.config``.
        extras: name -> JSON-able value, each written as ``<name>.json`` (names: letters, digits,
            ``_``, ``-``; not ``config`` or ``model``). E.g. ``{"vocab": [...], "scaler": {...}}``.

    Returns the directory path.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"save_model needs a torch.nn.Module (got {type(model).__name__})")
    config = getattr(model, "config", None)
    if config is None or not dataclasses.is_dataclass(config) or isinstance(config, type):
        raise TypeError(f"save_model needs a model built as {type(model).__name__}(config) with a dataclass config "
                        f"kept as model.config (got model.config = {type(config).__name__}); store the config "
                        "dataclass on the model")
    config_json = config_to_json(config)
    rebuilt = config_from_json(type(config), json.loads(json.dumps(config_json)), f"{type(config).__name__}")
    if dataclasses.asdict(rebuilt) != dataclasses.asdict(config):
        raise TypeError(f"{type(config).__name__} does not survive a JSON round trip (rebuilt {rebuilt!r}); give its "
                        "fields type hints that rebuild them (e.g. tuple[int, ...] instead of a bare tuple)")
    extras = dict(extras or {})
    for name, value in extras.items():
        if not isinstance(name, str) or not EXTRA_NAME.match(name) or name in RESERVED_EXTRAS:
            raise ValueError(f"save_model extra name {name!r} must be letters, digits, '_' or '-' (not "
                             f"{' or '.join(RESERVED_EXTRAS)}); e.g. extras={{'vocab': ...}}")
        try:
            json.dumps(value)
        except (TypeError, ValueError) as err:
            raise TypeError(f"save_model extra {name!r} is not JSON-able ({err}); convert it to lists, dicts, "
                            "numbers and strings (e.g. tensor.tolist())") from None

    target = Path(directory)
    if target.exists():
        if not target.is_dir():
            raise NotADirectoryError(f"save_model: {str(target)!r} is a file; give a folder path")
        if any(target.iterdir()) and not is_saved_model(target):
            raise ValueError(f"save_model: {str(target)!r} is a non-empty folder that is not an rnnkit saved model; "
                             "choose a new folder (nothing was written)")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        weights = staging / WEIGHTS_FILE
        safetensors.torch.save_model(model, str(weights), metadata={"format": FORMAT})
        for name, value in extras.items():
            (staging / f"{name}.json").write_text(json.dumps(value, ensure_ascii=False), encoding="utf-8")
        meta = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "rnnkit_version": _rnnkit_version(),
            "model_class": _class_path(type(model)),
            "config_class": _class_path(type(config)),
            "config": config_json,
            "weights": WEIGHTS_FILE,
            "weights_sha256": _sha256(weights),
            "extras": sorted(extras),
        }
        (staging / CONFIG_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        _fsync_tree(staging)
        _replace_directory(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    log.debug("saved %s to %s", type(model).__name__, target)
    return target


def read_saved_config(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """The parsed ``config.json`` of a saved model (``CheckpointError`` if missing or corrupt)."""
    directory = Path(directory)
    if directory.is_file():
        raise CheckpointError(f"{str(directory)!r} is a file, not a saved model folder; give the folder written by "
                              "save_model (a run's model/ folder)")
    if not directory.is_dir():
        raise CheckpointError(f"saved model folder {str(directory)!r} does not exist; give the folder written by "
                              "save_model")
    path = directory / CONFIG_FILE
    if not path.is_file():
        raise CheckpointError(f"{path} is missing: {str(directory)!r} is not a complete rnnkit saved model; save "
                              "the model again")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{path} is corrupt ({err}); save the model again") from err
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not an rnnkit saved-model config (no \"format\": \"{FORMAT}\"); give the "
                              "folder written by save_model")
    version = meta.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CheckpointError(f"{path} has format_version {version!r}, newer than this rnnkit reads "
                              f"({FORMAT_VERSION}); upgrade rnnkit")
    missing = [key for key in ("model_class", "config_class", "config", "weights_sha256", "extras") if key not in meta]
    if missing:
        raise CheckpointError(f"{path} lacks {missing}; save the model again")
    return meta


def load_model(directory: str | os.PathLike[str], model_class: type[nn.Module] | None = None, *,
               device: str = "cpu") -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the model saved in ``directory``; return ``(model, extras)`` (model in eval mode).

    Args:
        directory: a folder written by :func:`save_model`.
        model_class: the class to build (must be the one saved); default: the saved class path,
            which must be an ``rnnkit.`` class.
        device: where the weights go (``"cpu"``, ``"cuda"``...).
    """
    directory = Path(directory)
    meta = read_saved_config(directory)
    if model_class is not None:
        if _class_path(model_class) != meta["model_class"]:
            raise CheckpointError(f"{directory / CONFIG_FILE}: the model was saved from {meta['model_class']}, not "
                                  f"{_class_path(model_class)}; call load_model(path) or pass the saved class")
        trusted = model_class.__module__
    else:
        model_class = _resolve_class(meta["model_class"], trusted_module=None, what="model class",
                                     directory=directory)
        trusted = None
    if not issubclass(model_class, nn.Module):
        raise CheckpointError(f"{directory / CONFIG_FILE}: {meta['model_class']} is not a torch.nn.Module")
    config_class = _resolve_class(meta["config_class"], trusted_module=trusted, what="config class",
                                  directory=directory)
    if not dataclasses.is_dataclass(config_class):
        raise CheckpointError(f"{directory / CONFIG_FILE}: {meta['config_class']} is not a dataclass; save the "
                              "model again")
    config = config_from_json(config_class, meta["config"], str(directory / CONFIG_FILE))
    model = model_class(config)

    name = meta.get("weights", WEIGHTS_FILE)
    if not isinstance(name, str) or Path(name).name != name or name in ("", ".", ".."):
        raise CheckpointError(f"{directory / CONFIG_FILE}: weights {name!r} must be a file name inside the model "
                              "folder; save the model again")
    weights = directory / name
    if not weights.is_file():
        raise CheckpointError(f"{weights} is missing; save the model again or restore the file")
    if _sha256(weights) != meta["weights_sha256"]:
        raise CheckpointError(f"{weights} is corrupt (its checksum differs from config.json); save the model again "
                              "or restore the file")
    try:
        safetensors.torch.load_model(model, str(weights), strict=True, device=device)
    except (RuntimeError, safetensors.SafetensorError) as err:
        first_line = str(err).strip().splitlines()[0]
        raise CheckpointError(f"{weights} does not match {model_class.__name__}({config_class.__name__}) "
                              f"({first_line}); the config and weights come from different models: save the model "
                              "again") from err

    extras: dict[str, Any] = {}
    for name in meta["extras"]:
        path = directory / f"{name}.json"
        if not isinstance(name, str) or not EXTRA_NAME.match(name):
            raise CheckpointError(f"{directory / CONFIG_FILE}: bad extra name {name!r}; save the model again")
        if not path.is_file():
            raise CheckpointError(f"{path} is missing (listed in config.json); save the model again or restore it")
        try:
            extras[name] = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as err:
            raise CheckpointError(f"{path} is corrupt ({err}); save the model again or restore it") from err
    model.eval()
    return model, extras


def load_task_model(directory: str | os.PathLike[str], model_class: type[nn.Module], extras: Sequence[str], *,
                    what: str, run: str) -> tuple[nn.Module, dict[str, Any]]:
    """:func:`load_model`, checked to be what a task saved: a ``model_class`` with the ``extras``
    (vocabulary, tokenizer...) the task needs. Anything else is one ``CheckpointError`` in the same
    words for every task: what the folder holds, what was expected (``what``, e.g. "a translator")
    and the task that writes such a folder (``run``, e.g. "translate")."""
    model, saved = load_model(directory)
    missing = [name for name in extras if name not in saved]
    if not isinstance(model, model_class) or missing:
        found = type(model).__name__ + (f" without {', '.join(missing)}" if isinstance(model, model_class) else "")
        raise CheckpointError(f"{str(directory)!r} holds a {found}, not {what}; give the model folder written by the {run} task")
    return model, saved

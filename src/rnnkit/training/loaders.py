"""Data loading for the engine: reproducible, DDP-sharded, resumable mid-epoch.

``fit`` accepts a ``torch.utils.data.Dataset``, a tuple of tensors (wrapped in a
``TensorDataset``) or a ready ``DataLoader`` (single process only). For datasets it builds the
loaders itself with :class:`EpochSampler`:

* the order of epoch ``e`` is ``randperm(n)`` from a generator seeded with ``seed + e`` (no
  global RNG is touched), so it is the same on every process and after a resume;
* under DDP, process ``r`` of ``W`` takes positions ``r, r + W, r + 2W...`` of that order (like
  ``DistributedSampler``), so with ``n`` divisible by ``W * batch_size`` the union of the
  processes' batches ``k`` is exactly batch ``k`` of a single process with ``W * batch_size``;
* streaming objectives are not sharded by example: every process reads every batch in order and
  keeps its own rows (``Objective.shard``), so each process carries the state of its streams;
* the :class:`TaskData` module stores in each checkpoint how many batches of the epoch were
  done, and a resumed run skips exactly those: nothing is seen twice, nothing is lost.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sized
from typing import Any

import lightning as L
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, Sampler, TensorDataset

from rnnkit.training.config import TrainConfig
from rnnkit.training.tbptt import StreamDataset

DataLike = Dataset | DataLoader | tuple[Tensor, ...] | Tensor


class BatchTensorDataset(TensorDataset):
    """A ``TensorDataset`` that hands the loader a whole batch at once (``__getitems__``): the rows
    of every tensor at the batch's indices, ``(x[idx], y[idx], ...)``, equal to stacking the
    examples one by one but without a Python call per example. Its batches need no collate
    (:func:`batch_as_is`)."""

    def __getitems__(self, indices: list[int]) -> tuple[Tensor, ...]:
        index = torch.as_tensor(indices, dtype=torch.long)
        return tuple(tensor[index] for tensor in self.tensors)


def batch_as_is(batch: Any) -> Any:
    """The collate of :class:`BatchTensorDataset`: its batch is already made."""
    return batch


def as_dataset(data: Any, name: str) -> Dataset | DataLoader:
    """A Dataset or DataLoader from what the user passed (tensors become a :class:`BatchTensorDataset`)."""
    if isinstance(data, (Dataset, DataLoader)):
        return data
    if isinstance(data, Tensor):
        return BatchTensorDataset(data)
    if isinstance(data, (tuple, list)) and data and all(isinstance(t, Tensor) for t in data):
        sizes = {t.shape[0] for t in data}
        if len(sizes) != 1:
            raise ValueError(f"{name}: the tensors must have the same first (batch) dimension, got "
                             f"{[t.shape[0] for t in data]}")
        return BatchTensorDataset(*data)
    raise TypeError(f"{name} must be a torch Dataset, a DataLoader or a tuple of tensors "
                    f"(got {type(data).__name__})")


class EpochSampler(Sampler[int]):
    """Indices of one process for the current epoch (see the module docstring).

    Args:
        size: number of examples n.
        shuffle: permute with ``seed + epoch``; else ``0..n-1`` in order.
        seed: base seed of the permutations.
        rank, world_size: this process and the number of processes; the order is padded by
            repeating its head to a multiple of ``world_size`` so every process gets
            ``ceil(n / world_size)`` indices (the same number of steps on every process).
    """

    def __init__(self, size: int, *, shuffle: bool, seed: int, rank: int = 0, world_size: int = 1) -> None:
        self.size = size
        self.shuffle = shuffle
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.epoch = 0
        self._resume: tuple[int, int] | None = None

    def set_epoch(self, epoch: int) -> None:
        """Called by Lightning at the start of every epoch."""
        self.epoch = epoch

    def resume(self, epoch: int, skip: int) -> None:
        """In epoch ``epoch`` (only), skip the first ``skip`` indices: they were trained on."""
        self._resume = (epoch, skip)

    def _order(self) -> list[int]:
        if self.shuffle:
            generator = torch.Generator().manual_seed(self.seed + self.epoch)
            order = torch.randperm(self.size, generator=generator).tolist()
        else:
            order = list(range(self.size))
        if self.world_size > 1:
            total = len(self) * self.world_size
            while len(order) < total:
                order += order[: total - len(order)]
            order = order[self.rank:total:self.world_size]
        return order

    def __iter__(self) -> Iterator[int]:
        order = self._order()
        if self._resume is not None and self._resume[0] == self.epoch:
            order = order[self._resume[1]:]
            self._resume = None
        return iter(order)

    def __len__(self) -> int:
        return -(-self.size // self.world_size)


class TaskData(L.LightningDataModule):
    """The LightningDataModule ``fit``/``evaluate``/``predict`` use (see the module docstring).

    Args:
        config: batch size, shuffling, workers, seed.
        train, val, predict: datasets (or DataLoaders) of each stage; ``None`` if absent.
        collate_fn: how examples become a batch (default: stack, as in ``DataLoader``).
        streaming: the objective carries state across batches (no shuffling, no example sharding).
    """

    def __init__(self, config: TrainConfig, *, train: Dataset | DataLoader | None = None,
                 val: Dataset | DataLoader | None = None, predict: Dataset | DataLoader | None = None,
                 collate_fn: Callable[[list[Any]], Any] | None = None, streaming: bool = False) -> None:
        super().__init__()
        self.config = config
        self.train, self.val, self.predict = train, val, predict
        self.collate_fn = collate_fn
        self.streaming = streaming
        self.shuffle = (not streaming) if config.shuffle is None else config.shuffle
        if streaming and self.shuffle:
            raise ValueError("TrainConfig.shuffle=True would break a streaming objective, whose consecutive "
                             "batches continue each other; use shuffle=None or False")
        for data in (train, val):
            if isinstance(data, StreamDataset) and data.num_streams != config.batch_size:
                raise ValueError(f"TrainConfig.batch_size={config.batch_size} must equal the StreamDataset's "
                                 f"num_streams={data.num_streams}, so each batch holds one chunk of every stream")
            if isinstance(data, StreamDataset) and not streaming:
                raise ValueError("a StreamDataset needs a streaming objective (e.g. StreamingLMObjective) that "
                                 "carries the state from batch to batch")
        self._resume: tuple[int, int] | None = None

    def _loader(self, data: Dataset | DataLoader, *, train: bool) -> DataLoader:
        trainer = self.trainer
        world_size = trainer.world_size if trainer is not None else 1
        rank = trainer.global_rank if trainer is not None else 0
        if isinstance(data, DataLoader):
            if world_size > 1:
                raise ValueError("with several processes pass a Dataset (rnnkit shards it per process), "
                                 "not a DataLoader")
            return data
        if not isinstance(data, Sized):
            raise TypeError(f"the dataset must have a length (got {type(data).__name__}); pass a DataLoader "
                            "for iterable datasets")
        seed = self.config.seed if self.config.seed is not None else 0
        if self.streaming:
            rank, world_size = 0, 1
        sampler = EpochSampler(len(data), shuffle=train and self.shuffle, seed=seed, rank=rank,
                               world_size=world_size)
        if train and self._resume is not None:
            epoch, batches_done = self._resume
            sampler.resume(epoch, batches_done * self.config.batch_size)
            self._resume = None
        workers = self.config.num_workers
        collate_fn = self.collate_fn
        if isinstance(data, BatchTensorDataset):
            if collate_fn is None:
                collate_fn = batch_as_is
            else:  # a collate of the user's sees examples, as with any other dataset
                data = TensorDataset(*data.tensors)
        return DataLoader(data, batch_size=self.config.batch_size, sampler=sampler,
                          drop_last=train and self.config.drop_last,
                          num_workers=workers, collate_fn=collate_fn, persistent_workers=workers > 0,
                          generator=torch.Generator().manual_seed(seed))

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train, train=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val, train=False)

    def predict_dataloader(self) -> DataLoader:
        return self._loader(self.predict, train=False)

    def state_dict(self) -> dict[str, int]:
        """Position in the current training epoch, saved in every checkpoint."""
        trainer = self.trainer
        if trainer is None or trainer.state.fn != "fit":
            return {}
        return {"epoch": trainer.current_epoch,
                "batches_done": trainer.fit_loop.epoch_loop.batch_progress.current.processed}

    def load_state_dict(self, state_dict: dict[str, int]) -> None:
        if state_dict:
            self._resume = (int(state_dict["epoch"]), int(state_dict["batches_done"]))

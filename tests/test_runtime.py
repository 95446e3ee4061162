"""Seeding and device choice, the GPU branch exercised with fakes on a CPU-only machine."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from advanced_dl import runtime


class _FakeGpu:
    def __init__(self, name: str) -> None:
        self.name = name


def test_gpu_branch_enables_memory_growth_and_mixed_precision():
    gpus = [_FakeGpu("/physical_device:GPU:0"), _FakeGpu("/physical_device:GPU:1")]
    grown, policies = [], []
    choice = runtime.choose_device(
        mixed_precision=True,
        list_gpus=lambda: gpus,
        set_memory_growth=lambda gpu, flag: grown.append((gpu.name, flag)),
        set_precision_policy=policies.append,
    )
    assert grown == [("/physical_device:GPU:0", True), ("/physical_device:GPU:1", True)]
    assert choice.gpu_count == 2
    assert choice.device.startswith("GPU:0")
    assert choice.precision_policy == "mixed_float16"
    assert policies == ["mixed_float16"]


def test_gpu_already_initialised_is_tolerated():
    def refuse(gpu, flag):
        raise RuntimeError("Physical devices cannot be modified after being initialized")

    choice = runtime.choose_device(
        list_gpus=lambda: [_FakeGpu("gpu0")],
        set_memory_growth=refuse,
        set_precision_policy=lambda p: None,
    )
    assert choice.device.startswith("GPU:0")
    assert choice.precision_policy == "float32"


def test_cpu_branch_ignores_mixed_precision():
    policies = []
    choice = runtime.choose_device(
        mixed_precision=True,
        list_gpus=lambda: [],
        set_memory_growth=lambda gpu, flag: pytest.fail("no GPU to configure"),
        set_precision_policy=policies.append,
    )
    assert choice.device == "CPU"
    assert choice.gpu_count == 0
    assert policies == ["float32"]


def test_real_tensorflow_sees_this_machine():
    choice = runtime.choose_device()
    import tensorflow as tf

    expected = "CPU" if not tf.config.list_physical_devices("GPU") else "GPU:0"
    assert choice.device.startswith(expected)


def test_seed_everything_repeats_draws():
    import keras

    runtime.seed_everything(7)
    first = (random.random(), np.random.rand(), float(keras.random.uniform(())))
    runtime.seed_everything(7)
    second = (random.random(), np.random.rand(), float(keras.random.uniform(())))
    assert first == second


@pytest.mark.parametrize("seed", [-1, 1.5, "42", True])
def test_seed_must_be_a_non_negative_integer(seed):
    with pytest.raises(ValueError, match="Parameter 'seed'"):
        runtime.seed_everything(seed)


def test_git_commit_outside_a_repository_is_none(tmp_path):
    assert runtime.git_commit(tmp_path) is None


def test_tensorflow_log_level_is_chosen_once_and_a_users_choice_is_kept():
    from advanced_dl.runtime import quiet_tensorflow_start_up

    environ: dict[str, str] = {}
    level = quiet_tensorflow_start_up(environ)
    has_driver = Path("/proc/driver/nvidia").exists() or any(Path("/dev").glob("nvidia*"))
    assert level == environ["TF_CPP_MIN_LOG_LEVEL"] == ("1" if has_driver else "3")
    assert quiet_tensorflow_start_up({"TF_CPP_MIN_LOG_LEVEL": "0"}) == "0"

import os

import numpy as np
import pytest

CORPUS = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "corpus", "public")


def load_corpus(name: str):
    path = os.path.join(CORPUS, name)
    if not os.path.exists(path):
        pytest.skip(f"corpus file {name} not present")
    z = np.load(path)
    return (z["indices"].astype(np.int64), z["labels"].astype(np.int64), int(z["pool_size"]),
            int(z["num_classes"]), z["group_sizes"].astype(np.int64))


def record_rate(benchmark, count: int, key: str = "M_per_s") -> None:
    """Store ``count / best time`` in millions per second; nothing under --benchmark-disable (the
    benchmarks then run once as plain tests and have no timings)."""
    if benchmark.stats is not None:
        benchmark.extra_info[key] = round(count / benchmark.stats.stats.min / 1e6, 2)


@pytest.fixture(scope="session")
def big_payload():
    """The 1.4 M-index control payload the issues' speed figures refer to."""
    return load_corpus("control_uniform_C100_21K_k10.npz")

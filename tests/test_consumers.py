"""What launchers compute from settings, as Metaflow computes it: the registry of an image."""

from __future__ import annotations

import re
import time

from hypothesis import example, given
from hypothesis import strategies as st

from metaflow_config._snapshot.consumers import docker_registry

#: Metaflow's own pattern (``metaflow/plugins/aws/aws_utils.py``), the reference
METAFLOWS = r"^(.+?(?:[:.].+?)\/)?(.*?)(?:[@:])?((?<=[@:]).*)?$"


def _metaflows(image: str) -> str | None:
    match = re.match(METAFLOWS, image)
    registry = match.group(1) if match else None
    return registry.rstrip("/") if registry else None


@given(image=st.text(alphabet="a.:/@-_9\n", max_size=14))
@example(image="123.dkr.ecr.us-east-1.amazonaws.com/img:1")
@example(image="localhost/x")
@example(image="localhost:5000/x")
@example(image="a/b.c/d")
@example(image=".:/x")
@example(image="a.b/\n")
@example(image="a.\nb/c")
def test_the_registry_is_metaflows(image: str) -> None:
    """The one-pass reading gives what Metaflow's pattern gives, for any text."""
    assert docker_registry(image) == _metaflows(image)


def test_the_registry_is_found_in_linear_time() -> None:
    """A hostile image of a megabyte costs about 16x one of 64 KB (the pattern: 256x)."""

    def cost(text: str) -> float:
        best = float("inf")
        for _ in range(3):
            start = time.process_time()
            docker_registry(text)
            best = min(best, time.process_time() - start)
        return max(best, 1e-6)

    for shape in ("a.", "a:", ".a", "a./"):
        small, large = shape * (32 * 1024), shape * (512 * 1024)
        assert cost(large) < 40 * cost(small) + 0.01, shape

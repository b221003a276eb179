"""Geometry operations on slices in threads: the same bits as one call."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from basingov._threads import THREADS_ENV, chunked, workers
from basingov.errors import ConfigError


def test_chunked_intersections_equal_one_call(monkeypatch):
    monkeypatch.setenv(THREADS_ENV, "3")
    assert workers() == 3
    rng = np.random.default_rng(0)
    boxes = shapely.box(*rng.uniform(0, 100, (2, 5000)), *rng.uniform(100, 200, (2, 5000)))
    poly = shapely.buffer(shapely.Point(100, 100), 60, quad_segs=64)
    one = shapely.area(shapely.intersection(boxes, poly))
    many = chunked(lambda g: shapely.area(shapely.intersection(g, poly)), boxes, min_size=100)
    assert np.array_equal(one, many)
    pairs = chunked(shapely.intersection, boxes, boxes[::-1], min_size=100)
    assert shapely.equals_exact(pairs, shapely.intersection(boxes, boxes[::-1]), 0).all()


def test_workers_from_the_environment(monkeypatch):
    monkeypatch.setenv(THREADS_ENV, "1")
    assert workers() == 1
    for bad in ("not a number", "0", "-2"):
        monkeypatch.setenv(THREADS_ENV, bad)
        with pytest.raises(ConfigError, match=f"BASINGOV_THREADS must be a whole number.*{bad}"):
            workers()
    monkeypatch.delenv(THREADS_ENV)
    assert workers() >= 1
    assert chunked(np.sqrt, np.array([4.0, 9.0])).tolist() == [2.0, 3.0]  # short: one call

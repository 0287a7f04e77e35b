"""pytest fixtures: `cloudsim` (session-wide server) and `cloudsim_clean` (reset before a test).

Register with `pytest_plugins = ["cloudsim.pytest_plugin"]`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .testing import RunningCloudSim, start_cloudsim


@pytest.fixture(scope="session")
def cloudsim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloudSim]:
    running = start_cloudsim(tmp_path_factory.mktemp("cloudsim"))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def cloudsim_clean(cloudsim: RunningCloudSim) -> RunningCloudSim:
    cloudsim.clear_faults()
    cloudsim.admin("POST", "/stats/reset")
    cloudsim.reset()
    return cloudsim

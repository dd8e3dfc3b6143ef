import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from cluster import DevCluster  # noqa: E402


@pytest.fixture(scope="module")
def cluster():
    with DevCluster() as c:
        yield c

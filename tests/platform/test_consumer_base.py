"""The consumers' base class refuses a subclass that could not send its first message."""

import pytest

from hybridcloud.core.consumers import AuthenticatedJsonConsumer


def test_a_consumer_without_a_snapshot_cannot_be_defined():
    with pytest.raises(TypeError, match="must define snapshot"):
        type("NoSnapshot", (AuthenticatedJsonConsumer,), {})

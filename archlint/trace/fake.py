"""The fake-tensor mode every tracer propagates shapes in: meta-backed, so no activation is allocated."""
from __future__ import annotations

from typing import Any


def fake_mode() -> Any:
    from torch._subclasses.fake_tensor import FakeTensorMode

    # real (meta or CPU) parameters may enter the mode: they are converted on first use
    return FakeTensorMode(allow_non_fake_inputs=True)

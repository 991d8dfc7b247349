"""The one clock services read, so tests can move time instead of sleeping."""

import time
from datetime import UTC, datetime


class Clock:
    """Wall-clock time plus an offset that only tests change."""

    def __init__(self) -> None:
        self.offset = 0.0

    def timestamp(self) -> float:
        return time.time() + self.offset

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp(), tz=UTC)

    def epoch(self) -> int:
        return int(self.timestamp())

    def advance(self, seconds: float) -> None:
        self.offset += seconds

    def reset(self) -> None:
        self.offset = 0.0


clock = Clock()

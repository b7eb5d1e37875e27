"""`build-frames`: the workstation build step (not built yet: see the build-step issue)."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    print("build-frames: not built yet — until it lands, `mona-frame simulate` uses a built-in "
          "demo pack", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())

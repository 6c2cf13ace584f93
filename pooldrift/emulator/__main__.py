"""``python -m pooldrift.emulator``: the same as ``pooldrift emulator``."""

from pooldrift.emulator import main

raise SystemExit(main())

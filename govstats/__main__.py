"""``python -m govstats ...`` is the ``govstats`` command."""

from govstats.cli import main

if __name__ == "__main__":
    raise SystemExit(main())

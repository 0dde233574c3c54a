"""``python -m seatwise.cli``."""

from seatwise.cli import main

main()

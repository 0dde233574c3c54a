"""Use cases over the pure core and the store: importing accounts, billing runs."""

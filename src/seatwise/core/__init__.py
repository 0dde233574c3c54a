"""The pure billing core: no I/O, no clock, no database. Instants are passed in."""

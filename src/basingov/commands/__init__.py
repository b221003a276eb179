"""CLI commands, one small module each; registered in :mod:`basingov.cli`."""

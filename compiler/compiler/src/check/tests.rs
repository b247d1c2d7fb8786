// Unit tests of the checker live in tests/it (data-driven).

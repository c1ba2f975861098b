"""Stage 1: find sample files, read them, and describe every sound in numbers."""

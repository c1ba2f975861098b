"""tidalsort: sort sample libraries by sound into similarity-ordered SuperDirt banks."""

__version__ = "0.1.0"

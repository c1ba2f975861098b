"""tidalsort: sort sample libraries by sound into similarity-ordered SuperDirt banks."""

__version__ = "0.2.0"

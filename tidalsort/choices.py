"""The values the sort settings can take.

Kept apart from the code that uses them, and importing nothing, so that the command line
can offer them (``tidalsort sort --help``) without loading numpy, scipy or scikit-learn.
"""

#: Feature set name -> its groups (``--features``, see :mod:`tidalsort.analysis.features`).
FEATURE_SETS: dict[str, tuple[str, ...]] = {"paa": ("paa",), "mel": ("mel",), "paa+mel": ("paa", "mel")}
#: How a bank is organised (``--group``, see :mod:`tidalsort.organise.grouping`).
GROUPS = ("families", "sound")
#: How a bank is laid out in folders (``--layout``).
LAYOUTS = ("bank", "split", "families")
#: How samples get into a bank (``--link``, see :mod:`tidalsort.output.bank`).
LINKS = ("copy", "symlink", "hardlink")
#: Clustering methods (``--method``, see :mod:`tidalsort.organise.cluster`).
METHODS = ("ward", "kmeans")
#: Orders of the samples (``--order``, see :mod:`tidalsort.organise.order`).
ORDERS = ("refined", "optimal", "tree")
#: Feature scalings (``--scaling``, see :mod:`tidalsort.organise.scaling`).
SCALINGS = ("standard", "none")
#: Clustering strategies (``--strategy``, see :mod:`tidalsort.organise.cluster`).
STRATEGIES = ("auto", "exact", "summary")

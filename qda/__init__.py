"""qda: qualitative data analysis from the command line.

The Python API mirrors the commands: open a :class:`~qda.project.Project` and call its
methods; results are objects with ``to_frame()`` and ``to_dict()``.
"""

from qda.errors import QdaError
from qda.project import Project

__version__ = "0.1.0"
__all__ = ["Project", "QdaError", "__version__"]

"""qda: qualitative data analysis from the command line.

The Python API mirrors the commands: open a :class:`~qda.project.Project` and call its
methods; results keep the contract of :class:`qda.results.Result` (``to_dict()``,
``to_frame()``, ``to_table()``).
"""

from qda.errors import QdaError
from qda.project import Project

__version__ = "0.1.0"
__all__ = ["Project", "QdaError", "__version__"]

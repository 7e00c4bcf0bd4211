"""Step definitions, in the words of the docs page and the spec.

Every step talks to the target through `World`; none knows which target it is. Steps are
pytest fixtures: `features/conftest.py` imports them all for this suite's feature files.
"""

from .expectations import *  # noqa: F403
from .manifests import *  # noqa: F403
from .page import *  # noqa: F403
from .requests import *  # noqa: F403
from .reliability import *  # noqa: F403
from .status import *  # noqa: F403

# pytest-bdd registers each step as a fixture under a generated name in its module; the
# star imports above carry those names along, so the modules define no __all__.

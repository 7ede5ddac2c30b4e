"""leadscore: predictive lead scoring with calibrated propensity, uplift and forecast."""

from importlib.metadata import version as _version

__version__ = _version("leadscore")

__all__ = ["__version__"]

"""The champion model, loaded from the MLflow registry and swapped when a promotion happens.

:class:`Champion` holds the model ``leadscore-propensity@champion`` points at, and the
``leadscore-next-touchpoint@champion`` model when there is one (its recommendations then join
the scores). A background
thread asks the registry every ``refresh_seconds`` which version the alias names; when it
changed, the new version is loaded off the request path and swapped in with one assignment,
so requests keep scoring with the old model until the new one is ready and never fail
because of a promotion.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from leadscore.errors import LeadscoreError
from leadscore.settings import Settings
from leadscore.store.workflow import ScoringModel
from leadscore.training.config import ScoringConfig
from leadscore.training.model import PropensityModel
from leadscore.training.next_touchpoint_tracking import (
    NEXT_TOUCHPOINT_MODEL_NAME,
    load_next_touchpoint,
)
from leadscore.training.next_touchpoint_training import TrainedNextTouchpoint
from leadscore.training.registry import champion_version
from leadscore.training.tracking import PROPENSITY_MODEL_NAME, load_propensity

__all__ = ["Champion", "LoadedChampion"]

_LOG: Final = logging.getLogger("leadscore.service")

VersionOf = Callable[[Settings], int | None]
Loader = Callable[[int, Settings], PropensityModel]


def _load_version(version: int, settings: Settings) -> PropensityModel:
    return load_propensity(f"models:/{PROPENSITY_MODEL_NAME}/{version}", settings).model


def _recommender_version(settings: Settings) -> int | None:
    return champion_version(settings, NEXT_TOUCHPOINT_MODEL_NAME)


def _load_recommender(version: int, settings: Settings) -> TrainedNextTouchpoint:
    reference = f"models:/{NEXT_TOUCHPOINT_MODEL_NAME}/{version}"
    return load_next_touchpoint(reference, settings).trained


@dataclass(frozen=True)
class LoadedChampion:
    """A loaded champion: the scoring model and when it was loaded."""

    scoring: ScoringModel
    registry_version: int
    loaded_at: datetime
    recommender_version: int | None = None


class Champion:
    """The current champion model; :meth:`refresh` picks up a new one."""

    def __init__(
        self,
        settings: Settings,
        config: ScoringConfig,
        *,
        refresh_seconds: float = 10.0,
        version_of: VersionOf = champion_version,
        loader: Loader = _load_version,
        recommender_version_of: VersionOf = _recommender_version,
        recommender_loader: Callable[[int, Settings], TrainedNextTouchpoint] = _load_recommender,
    ) -> None:
        self._settings = settings
        self._config = config
        self._refresh_seconds = refresh_seconds
        self._version_of = version_of
        self._loader = loader
        self._recommender_version_of = recommender_version_of
        self._recommender_loader = recommender_loader
        self._current: LoadedChampion | None = None
        self._refreshing = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_error: str | None = None

    @property
    def current(self) -> LoadedChampion | None:
        """The loaded champion, or None when there is none (yet)."""
        return self._current

    def scoring(self) -> ScoringModel | None:
        """The scoring model of the current champion, or None."""
        current = self._current
        return None if current is None else current.scoring

    def refresh(self) -> bool:
        """Load the champion if the alias points at another version; whether it changed.

        Errors (registry unreachable, model unreadable) keep the current model and are kept
        in :attr:`last_error`.
        """
        with self._refreshing:
            try:
                version = self._version_of(self._settings)
                current = self._current
                if version is None:
                    self.last_error = "no champion model yet"
                    return False
                recommender = self._recommender(current)
                if current and (current.registry_version, current.recommender_version) == (
                    version,
                    recommender[0],
                ):
                    self.last_error = None
                    return False
                if current is not None and current.registry_version == version:
                    model = current.scoring.model
                else:
                    model = self._loader(version, self._settings)
            except LeadscoreError as exc:
                self.last_error = str(exc)
                _LOG.warning("champion refresh failed: %s", exc)
                return False
            scoring = ScoringModel(model, self._config, str(version), recommender[1])
            self._current = LoadedChampion(scoring, version, datetime.now(UTC), recommender[0])
            self.last_error = None
            _LOG.info(
                "champion model version %s loaded (next-touchpoint model: %s)",
                version,
                recommender[0] or "none",
            )
            return True

    def _recommender(
        self, current: LoadedChampion | None
    ) -> tuple[int | None, TrainedNextTouchpoint | None]:
        """The next-touchpoint champion's version and model; the loaded one when unchanged.

        A next-touchpoint model that cannot be read is logged and left out: the propensity
        scores do not depend on it.
        """
        try:
            version = self._recommender_version_of(self._settings)
            if version is None:
                return None, None
            if current is not None and current.recommender_version == version:
                return version, current.scoring.next_touchpoint
            return version, self._recommender_loader(version, self._settings)
        except LeadscoreError as exc:
            _LOG.warning("next-touchpoint model not loaded: %s", exc)
            return None, None

    def _run(self) -> None:
        while not self._stop.wait(self._refresh_seconds):
            self.refresh()

    def start(self) -> None:
        """Load the champion now, then watch for promotions in a background thread."""
        self.refresh()
        if self._thread is None and self._refresh_seconds > 0:
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._run, name="leadscore-champion", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        """Stop watching."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

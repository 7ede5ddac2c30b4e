"""The one typed settings object, read from the environment when asked (never at import).

* ``LEADSCORE_HOME``: the project folder holding ``models/`` and ``data/`` (default: the
  current directory);
* ``MLFLOW_TRACKING_URI``: an MLflow tracking server or store (default: SQLite under
  ``models/``);
* ``LEADSCORE_DATABASE_URL``: the service's store (default: SQLite under ``data/``).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "get_settings"]


class Settings(BaseSettings):
    """Where leadscore keeps its models, tracking data and store."""

    model_config = SettingsConfigDict(env_prefix="LEADSCORE_", extra="ignore")

    home: Path = Field(default_factory=Path.cwd)
    mlflow_tracking_uri: str | None = Field(default=None, validation_alias="MLFLOW_TRACKING_URI")
    database_url: str | None = None

    @property
    def models_dir(self) -> Path:
        """The embedded MLflow store: tracking database and artifacts."""
        return self.home / "models"

    @property
    def tracking_uri(self) -> str:
        """``MLFLOW_TRACKING_URI`` or the embedded SQLite store under ``models/``."""
        if self.mlflow_tracking_uri:
            return self.mlflow_tracking_uri
        return f"sqlite:///{(self.models_dir / 'mlflow.db').resolve()}"

    @property
    def artifact_location(self) -> str:
        """Where runs of the embedded store keep their artifacts."""
        return (self.models_dir / "artifacts").resolve().as_uri()


def get_settings() -> Settings:
    """Read the settings from the environment now."""
    return Settings()

"""What the CLI tests share: running ``leadscore`` in a home of its own, and a ready MLflow
database to copy into it (creating one takes seconds)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import Result
from threadpoolctl import threadpool_limits
from typer.testing import CliRunner

from leadscore.cli import app
from leadscore.settings import Settings
from leadscore.training.tracking import configure_mlflow, quiet_mlflow

runner = CliRunner()

#: A pipeline that trains in seconds on the small simulated CRM; ``{rounds}`` is LightGBM's
#: maximum number of rounds.
PIPELINE_TEMPLATE = """\
split: {{validation_days: 45}}
model:
  max_rounds: {rounds}
  early_stopping_rounds: 20
  lightgbm: {{learning_rate: 0.1, num_leaves: 8, max_depth: 3, min_child_samples: 50,
             min_data_per_group: 50, num_threads: 1}}
"""
PIPELINE = PIPELINE_TEMPLATE.format(rounds=80)


def cli(home: Path, *args: object) -> Result:
    """``leadscore ARGS`` with models under ``home``.

    MLflow exports its tracking URI into the environment, so it is removed around every
    call. BLAS runs on one thread: OpenBLAS threads spinning against other work made the
    logistic-regression baseline ten times slower on a busy two-core machine.
    """
    with pytest.MonkeyPatch.context() as patch, threadpool_limits(limits=1, user_api="blas"):
        patch.setenv("LEADSCORE_HOME", str(home))
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        patch.chdir(home)
        return runner.invoke(app, [str(arg) for arg in args])


def said(result: Result) -> str:
    """Stderr with Rich's line wrapping undone."""
    return " ".join(result.stderr.split())


def empty_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An MLflow database with its tables created (that takes seconds), built once per
    session and copied into every home."""
    template = tmp_path_factory.getbasetemp() / "cli-mlflow-template" / "models" / "mlflow.db"
    if not template.is_file():
        with pytest.MonkeyPatch.context() as patch:
            patch.delenv("MLFLOW_TRACKING_URI", raising=False)
            configure_mlflow(Settings(home=template.parent.parent))
            with quiet_mlflow():
                import mlflow

                mlflow.MlflowClient().search_experiments()
    return template

"""Scale-out on Dask: partitioned data, features, training and batch scoring on a cluster.

The same library functions as on one machine run on each part of the data (all rows of a
set of leads); see :mod:`leadscore.cluster.parts` for the partitioned layout and
:mod:`leadscore.cluster.client` for the ``--dask`` value.
"""

from leadscore.cluster.client import DaskTarget, dask_client, parse_dask
from leadscore.cluster.features import data_bounds, part_examples, part_features, resolve_spec
from leadscore.cluster.parts import Part, is_partitioned, open_parts
from leadscore.cluster.scoring import score_on_cluster, score_part
from leadscore.cluster.simulate import chunk_plan, write_partitioned_simulation
from leadscore.cluster.training import train_on_cluster
from leadscore.cluster.workflow import (
    generate_on_cluster,
    score_location_on_cluster,
    train_location_on_cluster,
)

__all__ = [
    "DaskTarget",
    "Part",
    "chunk_plan",
    "dask_client",
    "data_bounds",
    "generate_on_cluster",
    "is_partitioned",
    "open_parts",
    "parse_dask",
    "part_examples",
    "part_features",
    "resolve_spec",
    "score_location_on_cluster",
    "score_on_cluster",
    "score_part",
    "train_location_on_cluster",
    "train_on_cluster",
    "write_partitioned_simulation",
]

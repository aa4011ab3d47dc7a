"""Ray across machines, proven on one: a real three-node Ray cluster, one worker node lost mid-run.

``ray.cluster_utils.Cluster`` starts a head node and two worker nodes on this machine, each its
own raylet and object store with one CPU, so the atlas's three actors land on three nodes. The
job joins the cluster by its address (``--ray-address``); when a render is done and another is
running on a worker node, that node is removed without warning (its raylet and workers killed).
Every render must end done exactly once, nothing lost: the lost node's task is claimed again
and finished on a node that is left.
"""

from __future__ import annotations

import pytest

from .conftest import assert_complete, run_atlas_in_thread, unit_rows, wait_for_victim

NODE = dict(num_cpus=1, object_store_memory=80 * 1024 * 1024, include_dashboard=False)


@pytest.fixture
def cluster():
    import ray
    from ray.cluster_utils import Cluster

    if ray.is_initialized():
        ray.shutdown()
    cluster = Cluster(
        initialize_head=True,
        head_node_args={
            **NODE,
            "_system_config": {"health_check_period_ms": 500, "health_check_failure_threshold": 4},
        },
    )
    nodes = [cluster.add_node(**{k: v for k, v in NODE.items() if k != "include_dashboard"}) for _ in range(2)]
    cluster.wait_for_nodes()
    yield cluster, nodes
    if ray.is_initialized():
        ray.shutdown()
    cluster.shutdown()


@pytest.mark.slow
def test_an_atlas_across_three_nodes_loses_a_node_and_nothing_else(tmp_path, cluster):
    cluster, workers = cluster
    by_prefix = {node.node_id[:8]: node for node in workers}
    runner, outcome = run_atlas_in_thread(
        tmp_path,
        layers="conv2,fc",
        engine="ray",
        ray_address=cluster.address,
        workers=3,
        batch=1,
        params={"levels": 3, "iterations": 150},  # about a second per unit: the node goes mid-run
    )
    victim = wait_for_victim(tmp_path, runner, lambda worker: worker.split(":")[-1] in by_prefix)
    assert victim is not None, f"the job ended before a worker node could be removed ({outcome})"
    nodes_seen = {(r["worker"] or "").split(":")[-1] for r in unit_rows(tmp_path) if r["worker"]}
    cluster.remove_node(by_prefix[victim["worker"].split(":")[-1]], allow_graceful=False)
    runner.join(timeout=300)
    assert not runner.is_alive(), "the job did not finish"
    assert "error" not in outcome, outcome.get("error")
    summary = outcome["summary"]
    assert (summary.total, summary.done, summary.failed) == (11, 11, 0)
    rows = assert_complete(tmp_path, 11)  # every render done exactly once, every image whole
    retried = [r for r in rows if r["attempts"] > 1]
    assert retried and all(r["attempts"] == 2 and r["worker"] != victim["worker"] for r in retried)
    assert len(nodes_seen | {r["worker"].split(":")[-1] for r in rows}) >= 2  # the work was spread over nodes
    assert summary.examples_chunks[0] == summary.examples_chunks[1]

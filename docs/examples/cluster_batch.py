"""Many runs on a SLURM cluster: dask-jobqueue submits the Dask workers as jobs, render_batch sends them the runs.

Run it on the cluster's login node, beside experiment.py, in the environment the nodes use too:

    pip install dask-jobqueue 'convergence-anim[distributed]'
    python cluster_batch.py
"""

from dask.distributed import Client

import convergence_anim as ca


def slurm_cluster():
    from dask_jobqueue import SLURMCluster

    # One worker a job, one thread a worker: each run is one process drawing its own frames.
    return SLURMCluster(cores=1, processes=1, memory="4GB", walltime="00:30:00",
                        job_script_prologue=["source ~/venvs/anim/bin/activate"])


def main(cluster, seeds="0-19", params=None, folder="/shared/runs"):
    cluster.adapt(minimum=0, maximum=20)  # jobs start while runs wait, and end when idle
    with Client(cluster) as client:
        return ca.render_batch("experiment.py:train", seeds, params or {"lr": [0.01, 0.1]},
                               output=folder + "/lr{lr}-s{seed}.gif", summary=folder + "/summary.png",
                               executor=client.get_executor(pure=False))


if __name__ == "__main__":
    with slurm_cluster() as cluster:
        result = main(cluster)
    print(len(result.entries), "runs,", len(result.failed), "failed")
